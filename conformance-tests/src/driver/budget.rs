//! The open-database budget: awake actors beyond it have their database closed, least
//! recently used first, and reopened transparently.

use std::collections::BTreeMap;

use fs_driver::DriverOptions;

use super::support::{all, open_with};
use crate::{CaseResult, Context};

/// With at most 8 databases open, 100 awake actors take interleaved puts, deletes and
/// reads: no error, every answer right, never more than 8 open (9 for a moment while the
/// ninth is admitted), and each actor's data and size intact at the end.
pub(crate) fn budget_eight_open_databases_for_a_hundred_actors(cx: &Context) -> CaseResult {
    let driver = open_with(cx, DriverOptions::new().max_open_databases(8));
    assert_eq!(driver.open_databases().1, 8);
    let mut models: Vec<BTreeMap<Vec<u8>, Vec<u8>>> = vec![BTreeMap::new(); 100];
    let id = |a: usize| format!("a{a:03}");
    for (a, model) in models.iter_mut().enumerate() {
        let entry = (b"first".to_vec(), a.to_be_bytes().to_vec());
        driver.create_actor(&id(a), "n", Vec::new(), std::slice::from_ref(&entry))?;
        model.insert(entry.0, entry.1);
    }
    let mut max_open = 0;
    // A fixed interleaving that visits every actor often and out of order.
    for step in 0..3_000usize {
        let a = (step * 37 + step / 100) % 100;
        let key = format!("k{}", step % 7).into_bytes();
        match step % 5 {
            0 | 1 => {
                let value = step.to_be_bytes().to_vec();
                driver.kv_put(&id(a), &[(&key, &value)])?;
                models[a].insert(key, value);
            }
            2 => {
                driver.kv_delete(&id(a), &[&key])?;
                models[a].remove(&key);
            }
            _ => {
                assert_eq!(
                    driver.kv_get_one(&id(a), &key)?,
                    models[a].get(&key).cloned(),
                    "step {step}, actor {a}"
                );
            }
        }
        max_open = max_open.max(driver.open_databases().0);
    }
    assert!(max_open <= 8, "{max_open} databases open at once");
    for (a, model) in models.iter().enumerate() {
        let expected: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(all(&driver, &id(a)), expected, "actor {a}");
        let size: u64 = model.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
        assert_eq!(driver.kv_storage_used(&id(a))?, size);
        assert!(
            driver.is_running(&id(a)),
            "awake, whether or not its database is open"
        );
    }
    // Sleep and destroy keep their guarantees on parked actors.
    driver.sleep_actor(&id(0), None)?;
    driver.destroy_actor(&id(1), None)?;
    assert!(driver.load_actor(&id(1)).is_err_and(|e| e.is_not_found()));
    assert_eq!(
        all(&driver, &id(0)),
        models[0].clone().into_iter().collect::<Vec<_>>()
    );
    Ok(())
}

//! Real faults for the fault suite: small tmpfs mounts (space and inodes run out),
//! immutable files (`chattr +i`), read-only remounts, and an ext4 file system on a loop
//! device whose backing store fills (so `fsync` fails). Each is a guard that undoes
//! itself when dropped. They need root and a kernel that allows them; [`Unavailable`]
//! says why when not, so that a test can be reported skipped with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a fault cannot be set up here.
#[derive(Debug)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn run(program: &str, args: &[&str]) -> Result<String, Unavailable> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|error| Unavailable(format!("{program}: {error}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(Unavailable(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

fn text(path: &Path) -> Result<&str, Unavailable> {
    path.to_str()
        .ok_or_else(|| Unavailable(format!("{} is not UTF-8", path.display())))
}

/// A mounted file system, unmounted when dropped.
#[derive(Debug)]
pub struct Mount {
    dir: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs at `dir` (created) with `options` such as `size=2m,nr_inodes=64`.
    pub fn tmpfs(dir: &Path, options: &str) -> Result<Self, Unavailable> {
        std::fs::create_dir_all(dir).map_err(|e| Unavailable(e.to_string()))?;
        run(
            "mount",
            &["-t", "tmpfs", "-o", options, "tmpfs", text(dir)?],
        )?;
        Ok(Mount {
            dir: dir.to_path_buf(),
        })
    }

    /// Mounts `device` (a block device) at `dir` (created).
    pub fn device(device: &str, dir: &Path) -> Result<Self, Unavailable> {
        std::fs::create_dir_all(dir).map_err(|e| Unavailable(e.to_string()))?;
        run("mount", &[device, text(dir)?])?;
        Ok(Mount {
            dir: dir.to_path_buf(),
        })
    }

    /// Where it is mounted.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Remounts it read-only (`true`) or read-write.
    pub fn set_read_only(&self, read_only: bool) -> Result<(), Unavailable> {
        let options = if read_only {
            "remount,ro"
        } else {
            "remount,rw"
        };
        run("mount", &["-o", options, text(&self.dir)?]).map(|_| ())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Ok(dir) = text(&self.dir) {
            let _ = run("umount", &[dir]).or_else(|_| run("umount", &["-l", dir]));
        }
    }
}

/// A file or directory made immutable (`chattr +i`), mutable again when dropped.
#[derive(Debug)]
pub struct Immutable {
    path: PathBuf,
}

impl Immutable {
    /// Sets the immutable attribute of `path`.
    pub fn set(path: &Path) -> Result<Self, Unavailable> {
        run("chattr", &["+i", text(path)?])?;
        Ok(Immutable {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        if let Ok(path) = text(&self.path) {
            let _ = run("chattr", &["-i", path]);
        }
    }
}

/// An ext4 file system on a loop device over a sparse image kept on a small tmpfs: when
/// that tmpfs fills, the device's writes fail and so does `fsync` (EIO), while ext4
/// itself still believes it has room.
#[derive(Debug)]
pub struct FailingDisk {
    /// The file system, mounted (dropped first).
    pub mount: Option<Mount>,
    device: String,
    /// The tmpfs holding the image (dropped last).
    backing: Option<Mount>,
    image: PathBuf,
}

impl FailingDisk {
    /// An ext4 image of `image_mib` MiB on a tmpfs of `backing_mib` MiB, mounted at
    /// `dir/fs`.
    pub fn new(dir: &Path, backing_mib: u64, image_mib: u64) -> Result<Self, Unavailable> {
        let backing = Mount::tmpfs(&dir.join("backing"), &format!("size={backing_mib}m"))?;
        let image = backing.dir().join("disk.img");
        run("truncate", &["-s", &format!("{image_mib}M"), text(&image)?])?;
        run(
            "mkfs.ext4",
            &[
                "-q",
                "-F",
                "-E",
                "lazy_itable_init=1,lazy_journal_init=1",
                text(&image)?,
            ],
        )?;
        let device = run("losetup", &["--find", "--show", text(&image)?])?;
        let mut disk = FailingDisk {
            mount: None,
            device,
            backing: Some(backing),
            image,
        };
        disk.mount = Some(Mount::device(&disk.device, &dir.join("fs"))?);
        Ok(disk)
    }

    /// The mounted ext4 file system.
    pub fn dir(&self) -> Option<&Path> {
        self.mount.as_ref().map(Mount::dir)
    }

    /// Fills the tmpfs under the image with a file (`filler`), leaving nothing for the
    /// image to grow into.
    pub fn fill_backing(&self) -> Result<PathBuf, Unavailable> {
        let backing = self
            .backing
            .as_ref()
            .ok_or_else(|| Unavailable("no backing store".into()))?;
        let filler = backing.dir().join("filler");
        // `dd` stops with an error when the tmpfs is full, which is the point.
        let _ = Command::new("dd")
            .args(["if=/dev/zero", &format!("of={}", text(&filler)?), "bs=64k"])
            .output();
        Ok(filler)
    }

    /// Unmounts and mounts the file system again (dropping the page cache's view).
    pub fn remount(&mut self) -> Result<(), Unavailable> {
        let dir = self
            .mount
            .take()
            .map(|mount| mount.dir().to_path_buf())
            .ok_or_else(|| Unavailable("not mounted".into()))?;
        self.mount = Some(Mount::device(&self.device, &dir)?);
        Ok(())
    }

    /// The image file.
    pub fn image(&self) -> &Path {
        &self.image
    }
}

impl Drop for FailingDisk {
    fn drop(&mut self) {
        drop(self.mount.take());
        let _ = run("losetup", &["-d", &self.device]);
        drop(self.backing.take());
    }
}

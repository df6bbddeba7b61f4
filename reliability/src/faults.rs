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
    /// Its journal and inode tables are sparse too, so that once the tmpfs is full ext4's
    /// own journal writes fail and it aborts the journal (the file system turns
    /// read-only).
    pub fn new(dir: &Path, backing_mib: u64, image_mib: u64) -> Result<Self, Unavailable> {
        Self::with_mkfs(
            dir,
            backing_mib,
            image_mib,
            "lazy_itable_init=1,lazy_journal_init=1",
        )
    }

    /// Like [`FailingDisk::new`], but the journal and inode tables are written out when
    /// the file system is made: once the tmpfs is full only writes of file data into new
    /// blocks fail, ext4's journal keeps working and the file system stays writable.
    pub fn data_only(dir: &Path, backing_mib: u64, image_mib: u64) -> Result<Self, Unavailable> {
        Self::with_mkfs(
            dir,
            backing_mib,
            image_mib,
            "lazy_itable_init=0,lazy_journal_init=0",
        )
    }

    /// Allocates every block of the image in the tmpfs but the file system's free ones:
    /// what ext4 writes to its own structures always has room, new file data does not.
    fn allocate_all_but_free_blocks(image: &Path) -> Result<(), Unavailable> {
        let size = std::fs::metadata(image)
            .map_err(|error| Unavailable(error.to_string()))?
            .len();
        run("fallocate", &["-l", &size.to_string(), text(image)?])?;
        let listing = run("dumpe2fs", &[text(image)?])?;
        let block_size: u64 = listing
            .lines()
            .find_map(|line| line.strip_prefix("Block size:"))
            .and_then(|size| size.trim().parse().ok())
            .ok_or_else(|| Unavailable("dumpe2fs printed no block size".into()))?;
        let free = listing
            .lines()
            .filter_map(|line| line.trim().strip_prefix("Free blocks: "))
            .flat_map(|ranges| ranges.split(", "));
        for range in free {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            let (Ok(first), Ok(last)) = (first.parse::<u64>(), last.parse::<u64>()) else {
                continue;
            };
            let offset = (first * block_size).to_string();
            let length = ((last - first + 1) * block_size).to_string();
            run(
                "fallocate",
                &["-p", "-o", &offset, "-l", &length, text(image)?],
            )?;
        }
        Ok(())
    }

    fn with_mkfs(
        dir: &Path,
        backing_mib: u64,
        image_mib: u64,
        extended: &str,
    ) -> Result<Self, Unavailable> {
        let backing = Mount::tmpfs(&dir.join("backing"), &format!("size={backing_mib}m"))?;
        let image = backing.dir().join("disk.img");
        run("truncate", &["-s", &format!("{image_mib}M"), text(&image)?])?;
        // 4 KiB blocks: one tmpfs page each, so that a block is written whole or not at all.
        run(
            "mkfs.ext4",
            &["-q", "-F", "-b", "4096", "-E", extended, text(&image)?],
        )?;
        if extended.contains("lazy_journal_init=0") {
            Self::allocate_all_but_free_blocks(&image)?;
        }
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

    /// Unmounts the file system, checks it with `e2fsck -fy` (repairing what the failed
    /// writes left), and mounts it fresh: what is read afterwards comes from the device.
    pub fn remount_checked(&mut self) -> Result<(), Unavailable> {
        let dir = self
            .mount
            .take()
            .map(|mount| mount.dir().to_path_buf())
            .ok_or_else(|| Unavailable("not mounted".into()))?;
        // e2fsck exits 1 when it corrected something: only 4 and above are failures.
        let checked = Command::new("e2fsck")
            .args(["-fy", &self.device])
            .output()
            .map_err(|error| Unavailable(format!("e2fsck: {error}")))?;
        if checked.status.code().is_none_or(|code| code >= 4) {
            return Err(Unavailable(format!(
                "e2fsck failed: {}",
                String::from_utf8_lossy(&checked.stdout).trim()
            )));
        }
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

//! Running compiled modules: x64 code natively in this process (copied
//! into an anonymous mapping that is then made executable), aarch64 code
//! under `qemu-aarch64-static` as a minimal static ELF written here (one
//! `PT_LOAD` segment; a stub calls the function, writes its 64-bit result
//! to stdout with the `write` syscall and exits through `exit`).
//!
//! Reads machine code; writes a temporary file for qemu (removed after).

use crate::aarch64::encode as a64;
use crate::machinst::MachBuffer;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Why a program could not be run or did not finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecError {
    /// More arguments than the register ABI takes.
    TooManyArgs(usize),
    /// The host cannot run this (not x86_64, or mmap/mprotect failed).
    Unsupported(String),
    /// qemu is not installed.
    NoQemu,
    /// qemu ran but the program misbehaved (crash, timeout, short output).
    Failed(String),
}

impl core::fmt::Display for ExecError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ExecError::TooManyArgs(n) => write!(f, "{n} arguments; at most 6"),
            ExecError::Unsupported(m) => write!(f, "cannot run here: {m}"),
            ExecError::NoQemu => write!(
                f,
                "qemu-aarch64-static not found (Debian package qemu-user-static)"
            ),
            ExecError::Failed(m) => write!(f, "program failed: {m}"),
        }
    }
}

impl std::error::Error for ExecError {}

/// Calls the x64 function at `entry` of `code` with `args` (System V).
///
/// # Safety
/// `code` must be correct machine code for a function of at most six
/// integer arguments returning an integer; a wrong program can corrupt or
/// crash this process.
#[cfg(all(target_arch = "x86_64", unix))]
pub unsafe fn run_x64(code: &[u8], entry: u32, args: &[i64]) -> Result<i64, ExecError> {
    if args.len() > 6 {
        return Err(ExecError::TooManyArgs(args.len()));
    }
    if entry as usize >= code.len() {
        return Err(ExecError::Unsupported(format!(
            "entry {entry} outside the code"
        )));
    }
    let len = code.len().max(1);
    let map = libc::mmap(
        core::ptr::null_mut(),
        len,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        -1,
        0,
    );
    if map == libc::MAP_FAILED {
        return Err(ExecError::Unsupported("mmap failed".into()));
    }
    core::ptr::copy_nonoverlapping(code.as_ptr(), map as *mut u8, code.len());
    if libc::mprotect(map, len, libc::PROT_READ | libc::PROT_EXEC) != 0 {
        libc::munmap(map, len);
        return Err(ExecError::Unsupported("mprotect failed".into()));
    }
    let mut a = [0i64; 6];
    a[..args.len()].copy_from_slice(args);
    type Entry = unsafe extern "sysv64" fn(i64, i64, i64, i64, i64, i64) -> i64;
    let f: Entry = core::mem::transmute((map as *const u8).add(entry as usize));
    let result = f(a[0], a[1], a[2], a[3], a[4], a[5]);
    libc::munmap(map, len);
    Ok(result)
}

/// Not an x86_64 host: x64 code cannot run natively.
///
/// # Safety
/// Always safe; present so callers compile on every host.
#[cfg(not(all(target_arch = "x86_64", unix)))]
pub unsafe fn run_x64(_code: &[u8], _entry: u32, _args: &[i64]) -> Result<i64, ExecError> {
    Err(ExecError::Unsupported(
        "x64 code runs only on an x86_64 host".into(),
    ))
}

const LOAD_ADDR: u64 = 0x40_0000;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;

/// A static aarch64 Linux ELF: the module's code followed by a start stub
/// that calls the function at `entry` with `args`, writes the 8-byte
/// result to stdout and exits with status 0.
pub fn aarch64_elf(code: &[u8], entry: u32, args: &[i64]) -> Result<Vec<u8>, ExecError> {
    if args.len() > 8 {
        return Err(ExecError::TooManyArgs(args.len()));
    }
    let header = EHDR_SIZE + PHDR_SIZE;
    let mut stub = MachBuffer::new();
    for (i, &a) in args.iter().enumerate() {
        a64::mov_imm(&mut stub, i as u8, a);
    }
    // bl to the function: the distance is known, so encode it directly.
    let stub_start = code.len() as i64;
    let bl_at = stub_start + stub.cur_offset() as i64;
    let words = (entry as i64 - bl_at) / 4;
    if !(-(1 << 25)..(1 << 25)).contains(&words) {
        return Err(ExecError::Unsupported("code too large for bl".into()));
    }
    stub.put4(0x9400_0000 | (words as u32 & 0x03ff_ffff));
    let sp = 31;
    a64::add_sub_imm(&mut stub, true, sp, sp, 16).expect("small");
    a64::load_store(&mut stub, false, a64::LsWidth::X, 0, sp, 0).expect("offset 0");
    a64::mov_imm(&mut stub, 0, 1); // fd 1
    a64::add_sub_imm(&mut stub, false, 1, sp, 0).expect("mov x1, sp");
    a64::mov_imm(&mut stub, 2, 8); // 8 bytes
    a64::mov_imm(&mut stub, 8, 64); // write
    a64::svc(&mut stub, 0);
    a64::mov_imm(&mut stub, 0, 0);
    a64::mov_imm(&mut stub, 8, 93); // exit
    a64::svc(&mut stub, 0);
    let stub = stub
        .finish()
        .map_err(|e| ExecError::Unsupported(e.to_string()))?;

    let total = header + code.len() + stub.len();
    let entry_addr = LOAD_ADDR + (header + code.len()) as u64;
    let mut elf = Vec::with_capacity(total);
    // ELF header.
    elf.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    elf.extend_from_slice(&[0; 8]);
    elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf.extend_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
    elf.extend_from_slice(&1u32.to_le_bytes());
    elf.extend_from_slice(&entry_addr.to_le_bytes());
    elf.extend_from_slice(&(EHDR_SIZE as u64).to_le_bytes()); // phoff
    elf.extend_from_slice(&0u64.to_le_bytes()); // shoff
    elf.extend_from_slice(&0u32.to_le_bytes()); // flags
    elf.extend_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
    elf.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
    elf.extend_from_slice(&1u16.to_le_bytes()); // phnum
    elf.extend_from_slice(&[0; 6]); // shentsize, shnum, shstrndx
                                    // Program header: one PT_LOAD, R+X, the whole file.
    elf.extend_from_slice(&1u32.to_le_bytes());
    elf.extend_from_slice(&5u32.to_le_bytes());
    elf.extend_from_slice(&0u64.to_le_bytes());
    elf.extend_from_slice(&LOAD_ADDR.to_le_bytes());
    elf.extend_from_slice(&LOAD_ADDR.to_le_bytes());
    elf.extend_from_slice(&(total as u64).to_le_bytes());
    elf.extend_from_slice(&(total as u64).to_le_bytes());
    elf.extend_from_slice(&0x1000u64.to_le_bytes());
    debug_assert_eq!(elf.len(), header);
    elf.extend_from_slice(code);
    elf.extend_from_slice(&stub);
    Ok(elf)
}

/// The qemu user-mode emulator for aarch64, if installed.
pub fn qemu_aarch64() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["qemu-aarch64-static", "qemu-aarch64"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Runs the aarch64 function at `entry` of `code` under qemu.
pub fn run_aarch64(code: &[u8], entry: u32, args: &[i64]) -> Result<i64, ExecError> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let qemu = qemu_aarch64().ok_or(ExecError::NoQemu)?;
    let elf = aarch64_elf(code, entry, args)?;
    let path = std::env::temp_dir().join(format!(
        "regarena-a64-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let io = |e: std::io::Error| ExecError::Failed(format!("{}: {e}", path.display()));
    std::fs::write(&path, &elf).map_err(io)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    let mut child = Command::new(&qemu)
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io)? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&path);
            return Err(ExecError::Failed("timed out after 20 s".into()));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut stdout = Vec::new();
    child.stdout.take().map(|mut s| s.read_to_end(&mut stdout));
    let _ = std::fs::remove_file(&path);
    if !status.success() || stdout.len() != 8 {
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .map(|mut s| s.read_to_string(&mut stderr));
        return Err(ExecError::Failed(format!(
            "qemu exited with {status}, {} bytes of output; {stderr}",
            stdout.len()
        )));
    }
    Ok(i64::from_le_bytes(stdout[..8].try_into().unwrap()))
}

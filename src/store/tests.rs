//! The store on local directories (file://, plain paths, mounted pvc://): transfers of files
//! and trees, odd local files, addresses, and error messages and codes.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::transfer::{EMPTY_DIR_MARKER, PART, small_at_once};
use super::{Reason, Store, StoreSpec, Transfer};

fn spec(uri: &str) -> StoreSpec {
    StoreSpec {
        uri: uri.to_owned(),
        endpoint: None,
        region: None,
        mount: None,
    }
}

/// A store in a fresh temporary directory, by `file://` URI.
fn file_store() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("file://{}/store", dir.path().display());
    let store = Store::open(&spec(&uri)).unwrap();
    (dir, store, uri)
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Every regular file under `dir`, as (relative path, bytes), sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn a_file_goes_up_and_comes_back() {
    let (tmp, store, uri) = file_store();
    let src = tmp.path().join("in/model.bin");
    write(&src, b"weights");
    let t = Store::block_on(store.upload(&src, &format!("{uri}/a/model.bin"))).unwrap();
    assert_eq!(t, Transfer { files: 1, bytes: 7 });
    assert_eq!(
        std::fs::read(tmp.path().join("store/a/model.bin")).unwrap(),
        b"weights"
    );
    let dst = tmp.path().join("out/model.bin");
    let t = Store::block_on(store.download(&format!("{uri}/a/model.bin"), &dst)).unwrap();
    assert_eq!(t, Transfer { files: 1, bytes: 7 });
    assert_eq!(std::fs::read(&dst).unwrap(), b"weights");
    // No temporary file is left next to it.
    assert_eq!(
        std::fs::read_dir(tmp.path().join("out")).unwrap().count(),
        1
    );
}

#[test]
fn a_nested_tree_with_empty_and_large_files_round_trips() {
    let (tmp, store, uri) = file_store();
    let src = tmp.path().join("in");
    write(&src.join("a.txt"), b"a");
    write(&src.join("empty"), b"");
    write(&src.join("x/y/z.txt"), b"deep");
    std::fs::create_dir_all(src.join("x/nothing-here")).unwrap();
    // Larger than one part: a multipart upload.
    let big: Vec<u8> = (0..(PART * 2 + 12345)).map(|i| (i % 251) as u8).collect();
    write(&src.join("x/big.bin"), &big);
    let t = Store::block_on(store.upload(&src, &format!("{uri}/run/out"))).unwrap();
    assert_eq!(t.files, 4);
    assert_eq!(t.bytes, 1 + 4 + big.len() as u64);
    let dst = tmp.path().join("back");
    let t = Store::block_on(store.download(&format!("{uri}/run/out"), &dst)).unwrap();
    assert_eq!(t.files, 4);
    assert_eq!(tree(&dst), tree(&src));
    // Object stores keep no empty directories.
    assert!(!dst.join("x/nothing-here").exists());
}

#[test]
fn an_empty_directory_round_trips_through_a_marker() {
    let (tmp, store, uri) = file_store();
    let src = tmp.path().join("empty-out");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    let t = Store::block_on(store.upload(&src, &format!("{uri}/o"))).unwrap();
    assert_eq!(t, Transfer::default());
    assert!(tmp.path().join("store/o").join(EMPTY_DIR_MARKER).is_file());
    let dst = tmp.path().join("back");
    let t = Store::block_on(store.download(&format!("{uri}/o"), &dst)).unwrap();
    assert_eq!(t, Transfer::default());
    assert!(dst.is_dir());
    assert_eq!(std::fs::read_dir(&dst).unwrap().count(), 0);
}

#[test]
fn symlinks_are_followed_and_cycles_and_dangling_links_refused() {
    let (tmp, store, uri) = file_store();
    let src = tmp.path().join("in");
    write(&tmp.path().join("elsewhere/real.txt"), b"real");
    write(&src.join("plain.txt"), b"plain");
    std::os::unix::fs::symlink(tmp.path().join("elsewhere/real.txt"), src.join("link.txt"))
        .unwrap();
    std::os::unix::fs::symlink(tmp.path().join("elsewhere"), src.join("linked-dir")).unwrap();
    Store::block_on(store.upload(&src, &format!("{uri}/s"))).unwrap();
    let dst = tmp.path().join("back");
    Store::block_on(store.download(&format!("{uri}/s"), &dst)).unwrap();
    assert_eq!(std::fs::read(dst.join("link.txt")).unwrap(), b"real");
    assert_eq!(
        std::fs::read(dst.join("linked-dir/real.txt")).unwrap(),
        b"real"
    );

    std::os::unix::fs::symlink(&src, src.join("loop")).unwrap();
    let e = Store::block_on(store.upload(&src, &format!("{uri}/s2"))).unwrap_err();
    assert!(e.to_string().contains("symbolic link cycle"), "{e}");
    std::fs::remove_file(src.join("loop")).unwrap();

    std::os::unix::fs::symlink(tmp.path().join("no-such"), src.join("dangling")).unwrap();
    let e = Store::block_on(store.upload(&src, &format!("{uri}/s3"))).unwrap_err();
    assert!(e.to_string().contains("dangling"), "{e}");
    assert_eq!(e.exit_code(), 3);
}

#[test]
fn a_fifo_is_refused_at_once_never_opened() {
    let (tmp, store, uri) = file_store();
    let src = tmp.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    write(&src.join("ok.txt"), b"ok");
    let fifo = src.join("pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    // Opening a FIFO with no writer would block: the test would hang instead of failing.
    for local in [src.as_path(), fifo.as_path()] {
        let e = Store::block_on(store.upload(local, &format!("{uri}/f"))).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("named pipe (FIFO)"), "{msg}");
        assert!(msg.contains(&fifo.display().to_string()), "{msg}");
        assert!(
            msg.starts_with(&format!("cannot upload to {uri}/f: ")),
            "{msg}"
        );
    }
    // Nothing was uploaded.
    assert!(!tmp.path().join("store/f").exists());
}

#[test]
fn small_objects_exist_and_read_back() {
    let (_tmp, store, uri) = file_store();
    let at = format!("{uri}/records/k1.json");
    assert!(!Store::block_on(store.exists(&at)).unwrap());
    assert_eq!(Store::block_on(store.get_bytes(&at)).unwrap(), None);
    Store::block_on(store.put_bytes(&at, b"{}".to_vec())).unwrap();
    assert!(Store::block_on(store.exists(&at)).unwrap());
    assert_eq!(
        Store::block_on(store.get_bytes(&at)).unwrap(),
        Some(b"{}".to_vec())
    );
    // A "directory" is not an object.
    assert!(!Store::block_on(store.exists(&format!("{uri}/records"))).unwrap());
}

#[test]
fn nothing_at_an_address_is_not_found() {
    let (tmp, store, uri) = file_store();
    let e =
        Store::block_on(store.download(&format!("{uri}/none"), &tmp.path().join("x"))).unwrap_err();
    assert_eq!(e.reason(), &Reason::NotFound);
    assert_eq!(e.exit_code(), 3);
    assert_eq!(
        e.to_string(),
        format!("cannot download {uri}/none: no such object, and no objects under it")
    );
}

#[test]
fn addresses_outside_the_store_are_refused() {
    let (tmp, store, uri) = file_store();
    let f = tmp.path().join("f");
    write(&f, b"x");
    for bad in [
        "s3://other/x".to_owned(),
        format!("{uri}-sibling/x"),
        format!("{uri}/../escape"),
    ] {
        let e = Store::block_on(store.upload(&f, &bad)).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{bad}: {e}");
    }
    assert_eq!(store.name(), uri);
}

#[test]
fn a_plain_path_and_a_mounted_pvc_are_local_stores() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain").display().to_string();
    let store = Store::open(&spec(&plain)).unwrap();
    Store::block_on(store.put_bytes(&format!("{plain}/a"), b"1".to_vec())).unwrap();
    assert_eq!(std::fs::read(tmp.path().join("plain/a")).unwrap(), b"1");

    let mut pvc = spec("pvc://claim/pre/fix");
    assert_eq!(Store::open(&pvc).unwrap_err().exit_code(), 2);
    let msg = Store::open(&pvc).unwrap_err().to_string();
    assert!(msg.contains("\"claim\" is not mounted"), "{msg}");
    pvc.mount = Some(tmp.path().join("mnt"));
    let store = Store::open(&pvc).unwrap();
    Store::block_on(store.put_bytes("pvc://claim/pre/fix/a/b", b"2".to_vec())).unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("mnt/pre/fix/a/b")).unwrap(),
        b"2"
    );
}

#[test]
fn what_the_user_wrote_is_exit_2() {
    for uri in [
        "ftp://host/x",
        "s3://",
        "file://host/x",
        "",
        "pvc://claim/x",
    ] {
        let e = Store::open(&spec(uri)).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{uri}: {e}");
    }
    let e = Store::open(&spec("ftp://host/x")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot open the store ftp://host/x: unknown scheme \"ftp\" (use s3://, gs://, az://, \
         file://, pvc:// or a local path)"
    );
    let mut s = spec("gs://bucket/x");
    s.endpoint = Some("http://127.0.0.1:9000".into());
    assert_eq!(Store::open(&s).unwrap_err().exit_code(), 2);
    let mut s = spec("s3://bucket/x");
    s.endpoint = Some("127.0.0.1:9000".into());
    assert_eq!(Store::open(&s).unwrap_err().exit_code(), 2);
}

#[test]
fn secrets_are_redacted_from_shown_strings() {
    let shown =
        super::error::redact("GET https://user:pw@host/b/k?X-Amz-Signature=abc&sig=def failed");
    assert_eq!(shown, "GET https://…@host/b/k?… failed");
}

#[test]
fn small_files_in_flight_fit_the_memory_budget() {
    assert_eq!(small_at_once(0), 8);
    assert_eq!(small_at_once(1 << 20), 8);
    assert_eq!(small_at_once(PART as u64), 4);
    assert_eq!(small_at_once(5 << 20), 6);
}

//! The artifact store against S3 on loopback: a `moto` server started per test, driven through
//! `mlk store-cp`; and the failures a store can give (a missing bucket, a closed port, a server
//! that never answers, denied access), each with its exit code and without a credential in any
//! message.
//!
//! [`S3Server`] is the harness other tests use. It finds `moto_server` in `MLK_MOTO_SERVER`,
//! then on PATH, then in the venv of `.ci/s3-venv.sh`. Without one, the S3 tests print a notice
//! and pass, unless `MLK_REQUIRE_S3=1` (as `.ci/test` sets), then they fail. The 1 GiB test
//! runs only with `MLK_REQUIRE_S3=1` or `MLK_S3_LARGE=1`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Run;

/// The access key id every S3 test uses (moto accepts any).
pub(crate) const ACCESS_KEY_ID: &str = "AKIAMLKTESTKEY";
/// The secret access key every S3 test uses: it must never appear in mlk's output.
pub(crate) const SECRET_ACCESS_KEY: &str = "mlk-test-secret-Zq8rT1";
/// The region every S3 test uses.
pub(crate) const REGION: &str = "us-east-1";

/// The environment a process needs to use the test server: credentials and region (and no
/// other AWS settings from the machine).
pub(crate) fn credentials() -> [(&'static str, &'static str); 3] {
    [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ("AWS_REGION", REGION),
    ]
}

/// A `moto` S3 server on 127.0.0.1, stopped when dropped.
pub(crate) struct S3Server {
    child: Child,
    port: u16,
    /// With TLS: the directory of its certificate and key files.
    tls: Option<tempfile::TempDir>,
}

impl S3Server {
    /// Starts a server on a free port and waits until it answers. None (after a notice on
    /// stderr) when `moto_server` is not installed, unless `MLK_REQUIRE_S3=1`: then it panics.
    pub(crate) fn start() -> Option<S3Server> {
        S3Server::start_with(None)
    }

    /// [`S3Server::start`] serving HTTPS with a certificate for localhost signed by `ca`
    /// (its `endpoint` is then `https://localhost:PORT`). Answers are not awaited: moto speaks
    /// TLS, the harness does not, so it waits until the port accepts connections.
    pub(crate) fn start_tls(ca: &crate::fake_api::Ca) -> Option<S3Server> {
        let dir = tempfile::tempdir().unwrap();
        let (chain, key) = ca.server_pem();
        std::fs::write(dir.path().join("cert.pem"), chain).unwrap();
        std::fs::write(dir.path().join("key.pem"), key).unwrap();
        S3Server::start_with(Some(dir))
    }

    fn start_with(tls: Option<tempfile::TempDir>) -> Option<S3Server> {
        let Some(program) = moto_server() else {
            assert!(
                !required(),
                "MLK_REQUIRE_S3=1 but moto_server was found neither in MLK_MOTO_SERVER, nor on \
                 PATH, nor in the .ci/s3-venv.sh venv: run .ci/s3-venv.sh"
            );
            eprintln!(
                "notice: moto_server not found (set MLK_MOTO_SERVER or run .ci/s3-venv.sh): \
                 skipping this S3 test"
            );
            return None;
        };
        // A port picked free can be taken before moto binds it: try a few.
        let mut tls = tls;
        for _ in 0..3 {
            match S3Server::start_on(&program, free_port(), tls) {
                Ok(server) => return Some(server),
                Err(back) => tls = back,
            }
        }
        panic!("{} did not start on 127.0.0.1", program.display());
    }

    fn start_on(
        program: &Path,
        port: u16,
        tls: Option<tempfile::TempDir>,
    ) -> Result<S3Server, Option<tempfile::TempDir>> {
        let mut command = Command::new(program);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        if let Some(dir) = &tls {
            command
                .arg("-c")
                .arg(dir.path().join("cert.pem"))
                .arg("-k")
                .arg(dir.path().join("key.pem"));
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let mut server = S3Server { child, port, tls };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if server.child.try_wait().ok().flatten().is_some() {
                break;
            }
            let ready = match server.tls {
                Some(_) => TcpStream::connect(("127.0.0.1", port)).is_ok(),
                None => server.request("GET", "/").is_some(),
            };
            if ready {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(server.tls.take())
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS.
    pub(crate) fn endpoint(&self) -> String {
        match self.tls {
            Some(_) => format!("https://localhost:{}", self.port),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    /// Creates the bucket `name` (moto takes unsigned requests).
    pub(crate) fn bucket(&self, name: &str) {
        let status = self.request("PUT", &format!("/{name}"));
        assert_eq!(status, Some(200), "creating bucket {name}");
    }

    /// `mlk` (see [`crate::command`]) with this server's credentials in its environment.
    pub(crate) fn mlk(&self) -> Command {
        let mut c = crate::command();
        c.envs(credentials());
        c
    }

    /// `mlk store-cp SRC DST --endpoint THIS` to completion.
    pub(crate) fn store_cp(&self, src: &str, dst: &str) -> Run {
        crate::run(
            self.mlk()
                .args(["store-cp", src, dst, "--endpoint"])
                .arg(self.endpoint()),
        )
    }

    /// One unsigned request; its status code, None if no answer.
    pub(crate) fn request(&self, method: &str, path: &str) -> Option<u16> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).ok()?;
        std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the S3 tests must run (`MLK_REQUIRE_S3=1`).
pub(crate) fn required() -> bool {
    std::env::var("MLK_REQUIRE_S3").is_ok_and(|v| v == "1")
}

/// `moto_server`: MLK_MOTO_SERVER, then PATH, then the cached venv of `.ci/s3-venv.sh`.
fn moto_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MLK_MOTO_SERVER").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("moto_server"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        let p = cache.join("mlk-ci/s3-venv/bin/moto_server");
        p.is_file().then_some(p)
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback HTTP server answering every request with `status` and `body`, on a thread, for
/// as long as the test runs; or, with `status` None, accepting connections and never answering.
fn fake_server(status: Option<u16>, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some(status) = status else {
                held.push(stream);
                continue;
            };
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                // Read the request head (and whatever body came with it), then answer.
                let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
                let _ = stream.read(&mut buf);
                let reply = format!(
                    "HTTP/1.1 {status} Nope\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            });
        }
    });
    format!("http://{addr}")
}

/// Fails on any credential in what mlk printed.
pub(crate) fn assert_no_secret(run: &Run) {
    for out in [&run.stdout, &run.stderr] {
        assert!(!out.contains(SECRET_ACCESS_KEY), "a secret in:\n{out}");
        assert!(!out.contains("Signature="), "a signature in:\n{out}");
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn files_and_trees_round_trip_through_s3() {
    let Some(s3) = S3Server::start() else { return };
    s3.bucket("artifacts");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("out");
    write(&src.join("metrics.json"), b"{\"acc\": 0.9}");
    write(&src.join("empty"), b"");
    write(&src.join("model/weights.bin"), &vec![7u8; 3 << 20]);
    // Three parts and a bit: a multipart upload, then ranged downloads.
    let big: Vec<u8> = (0..(25 << 20) + 7).map(|i: u32| (i % 253) as u8).collect();
    write(&src.join("model/big.bin"), &big);
    let s = |p: &Path| p.display().to_string();

    let up = s3.store_cp(&s(&src), "s3://artifacts/runs/1/out");
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert!(up.stderr.contains("uploaded 4 files"), "{}", up.stderr);
    let back = tmp.path().join("back");
    let down = s3.store_cp("s3://artifacts/runs/1/out", &s(&back));
    assert_eq!(down.code, 0, "{}", down.stderr);
    for rel in [
        "metrics.json",
        "empty",
        "model/weights.bin",
        "model/big.bin",
    ] {
        assert_eq!(
            std::fs::read(back.join(rel)).unwrap(),
            std::fs::read(src.join(rel)).unwrap(),
            "{rel}"
        );
    }
    // One object by its own address.
    let one = tmp.path().join("one.bin");
    let down = s3.store_cp("s3://artifacts/runs/1/out/model/big.bin", &s(&one));
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(std::fs::read(&one).unwrap(), big);
    for run in [&up, &down] {
        assert_no_secret(run);
    }
}

#[test]
fn a_missing_bucket_or_object_is_exit_3_naming_the_store_and_the_operation() {
    let Some(s3) = S3Server::start() else { return };
    s3.bucket("present");
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("f.txt");
    write(&f, b"x");
    let f = f.display().to_string();
    let dst = tmp.path().join("dst").display().to_string();

    let up = s3.store_cp(&f, "s3://absent/p/f.txt");
    assert_eq!(up.code, 3, "{}", up.stderr);
    assert_eq!(
        up.stderr,
        "error: cannot upload to s3://absent/p/f.txt: bucket \"absent\" does not exist\n"
    );
    let down = s3.store_cp("s3://absent/p/f.txt", &dst);
    assert_eq!(down.code, 3, "{}", down.stderr);
    assert_eq!(
        down.stderr,
        "error: cannot download s3://absent/p/f.txt: bucket \"absent\" does not exist\n"
    );
    let none = s3.store_cp("s3://present/p/none", &dst);
    assert_eq!(none.code, 3, "{}", none.stderr);
    assert_eq!(
        none.stderr,
        "error: cannot download s3://present/p/none: no such object, and no objects under it\n"
    );
    for run in [&up, &down, &none] {
        assert_no_secret(run);
    }
}

#[test]
fn a_closed_port_is_exit_3_cannot_reach() {
    let port = free_port();
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("f.txt");
    write(&f, b"x");
    let started = Instant::now();
    let out = crate::run(
        crate::command()
            .envs(credentials())
            .args([
                "store-cp",
                &f.display().to_string(),
                "s3://b/k",
                "--endpoint",
            ])
            .arg(format!("http://127.0.0.1:{port}")),
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "error: cannot upload to s3://b/k: cannot reach http://127.0.0.1:{port} (connection refused)\n"
        )
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_no_secret(&out);
}

/// Uploads a small file to `uri`, then downloads `uri`, through `endpoint` with `extra`
/// arguments: each operation as messages name it, what mlk did, and how long it took.
fn up_and_down(endpoint: &str, uri: &str, extra: &[&str]) -> Vec<(&'static str, Run, Duration)> {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("f.txt");
    write(&f, b"x");
    let f = f.display().to_string();
    let dst = tmp.path().join("d").display().to_string();
    [
        (f.as_str(), uri, "upload to"),
        (uri, dst.as_str(), "download"),
    ]
    .into_iter()
    .map(|(src, dst, op)| {
        let started = Instant::now();
        let out = crate::run(
            crate::command()
                .envs(credentials())
                .args(["store-cp", src, dst, "--endpoint", endpoint])
                .args(extra),
        );
        (op, out, started.elapsed())
    })
    .collect()
}

#[test]
fn a_server_that_never_answers_is_given_up_on_in_bounded_time() {
    let endpoint = fake_server(None, "");
    for (op, out, took) in up_and_down(&endpoint, "s3://b/k", &["--timeout", "1"]) {
        assert_eq!(out.code, 3, "{}", out.stderr);
        assert_eq!(
            out.stderr,
            format!(
                "error: cannot {op} s3://b/k: no answer from {endpoint} (each request waited 1 s; \
                 retried for 1 s)\n"
            )
        );
        assert!(took < Duration::from_secs(10), "took {took:?}");
    }
}

#[test]
fn denied_access_is_exit_3_and_echoes_no_credential() {
    // A store that answers 403 and, like some servers, echoes the request's signature and a
    // secret in its error body: none of it may reach the message.
    let endpoint = fake_server(
        Some(403),
        "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access Denied for \
         mlk-test-secret-Zq8rT1</Message><StringToSign>AWS4-HMAC-SHA256 Signature=abc</StringToSign></Error>",
    );
    for (op, out, _) in up_and_down(&endpoint, "s3://b/p/k", &[]) {
        assert_eq!(out.code, 3, "{}", out.stderr);
        // A HEAD's answer has no body, so a download may not know the S3 error code.
        let said = format!("error: cannot {op} s3://b/p/k: access denied");
        assert!(out.stderr.starts_with(&said), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert_no_secret(&out);
    }
}

#[test]
fn no_ca_certificates_is_said_for_https_and_no_matter_for_http() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("f.txt");
    write(&f, b"x");
    let f = f.display().to_string();
    // SSL_CERT_FILE replaces the system's bundle: a missing one leaves no CA certificate, as
    // in an image without ca-certificates.
    let no_roots = |endpoint: &str| {
        let mut c = crate::command();
        c.envs(credentials())
            .env("SSL_CERT_FILE", tmp.path().join("no-such-bundle.pem"))
            .env_remove("SSL_CERT_DIR")
            .args([
                "store-cp",
                &f,
                "s3://b/k",
                "--timeout",
                "1",
                "--endpoint",
                endpoint,
            ]);
        crate::run(&mut c)
    };
    let https = no_roots("https://127.0.0.1:9");
    assert_eq!(https.code, 3, "{}", https.stderr);
    assert!(
        https.stderr.starts_with(
            "error: cannot open the store s3://b: no CA certificates to check HTTPS servers with"
        ),
        "{}",
        https.stderr
    );
    let port = free_port();
    let http = no_roots(&format!("http://127.0.0.1:{port}"));
    assert_eq!(http.code, 3, "{}", http.stderr);
    assert!(
        http.stderr.contains("(connection refused)"),
        "{}",
        http.stderr
    );
}

#[test]
fn https_needs_the_servers_ca_and_says_so_without_it() {
    let ca = crate::fake_api::Ca::new("mlk test store CA");
    let Some(s3) = S3Server::start_tls(&ca) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("f.txt");
    write(&f, b"x");
    let f = f.display().to_string();
    let endpoint = s3.endpoint();
    let untrusted = s3.store_cp(&f, "s3://tls/k");
    assert_eq!(untrusted.code, 3, "{}", untrusted.stderr);
    assert_eq!(
        untrusted.stderr,
        format!(
            "error: cannot upload to s3://tls/k: cannot reach {endpoint} (its TLS certificate is \
             not trusted: UnknownIssuer; for a private CA set SSL_CERT_FILE)\n"
        )
    );
    // With the CA, TLS is through and moto answers (there is no bucket `tls`).
    let bundle = tmp.path().join("ca.pem");
    std::fs::write(&bundle, ca.pem()).unwrap();
    let mut c = s3.mlk();
    c.env("SSL_CERT_FILE", &bundle)
        .args(["store-cp", &f, "s3://tls/k", "--endpoint", &endpoint]);
    let trusted = crate::run(&mut c);
    assert_eq!(trusted.code, 3, "{}", trusted.stderr);
    assert_eq!(
        trusted.stderr,
        "error: cannot upload to s3://tls/k: bucket \"tls\" does not exist\n"
    );
}

#[test]
fn what_the_user_wrote_wrong_is_exit_2() {
    let out = crate::mlk(&["store-cp", "README.md", "ftp://host/x"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("unknown scheme \"ftp\""),
        "{}",
        out.stderr
    );
    let out = crate::mlk(&["store-cp", "README.md", "also-local"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// 1 GiB up and down with the peak resident memory of `mlk store-cp` under 64 MiB. Slow (moto
/// holds the object in memory): only with MLK_REQUIRE_S3=1 or MLK_S3_LARGE=1.
#[test]
fn a_1_gib_file_goes_up_and_down_in_bounded_memory() {
    if !(required() || std::env::var("MLK_S3_LARGE").is_ok_and(|v| v == "1")) {
        eprintln!("notice: set MLK_S3_LARGE=1 (or MLK_REQUIRE_S3=1) to run the 1 GiB transfer");
        return;
    }
    let Some(s3) = S3Server::start() else { return };
    s3.bucket("large");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("big.bin");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&src).unwrap());
        let block: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 241) as u8).collect();
        for i in 0..1024u32 {
            let mut b = block.clone();
            b[..4].copy_from_slice(&i.to_le_bytes());
            f.write_all(&b).unwrap();
        }
    }
    let dst = tmp.path().join("back.bin");
    let s = |p: &Path| p.display().to_string();
    for (from, to) in [
        (s(&src), "s3://large/one/big.bin".to_owned()),
        ("s3://large/one/big.bin".to_owned(), s(&dst)),
    ] {
        let out = crate::run(
            s3.mlk()
                .args(["store-cp", &from, &to, "--verbose", "--endpoint"])
                .arg(s3.endpoint()),
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let kib: u64 = out
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("peak memory (VmHWM): "))
            .and_then(|l| l.strip_suffix(" KiB"))
            .unwrap_or_else(|| panic!("no peak memory line in:\n{}", out.stderr))
            .parse()
            .unwrap();
        eprintln!("{from} → {to}: peak {kib} KiB");
        assert!(
            kib < 64 * 1024,
            "peak RSS {kib} KiB ≥ 64 MiB:\n{}",
            out.stderr
        );
    }
    let same = Command::new("cmp").arg(&src).arg(&dst).status().unwrap();
    assert!(same.success(), "the downloaded file differs");
}

//! PyYAML's read-back: about 500 deterministic strings, numbers and other values, read by
//! PyYAML exactly as serde_yaml reads them.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_yaml::{Mapping, Value};

use super::{PIECES, TRICKY, assert_plain_scalars_are_strings, mapping, string};
use crate::render::yaml::emit_document;

/// About 500 deterministic strings: [`TRICKY`] and [`PIECES`], Kubernetes quantities, and
/// LCG-generated mixes of ASCII (control characters included), non-ASCII and pieces.
fn generated_strings() -> Vec<String> {
    let mut out: Vec<String> = TRICKY
        .iter()
        .chain(PIECES)
        .map(|s| (*s).to_owned())
        .collect();
    let alphabet: Vec<char> = (0u8..0x80)
        .map(char::from)
        .chain("é日本🎉\u{85}\u{a0}\u{9f}\u{2028}\u{2029}\u{feff}\u{fffe}\u{ffff}\u{d7ff}\u{e000}\u{10ffff}".chars())
        .collect();
    let word = b"abcXYZ019_./-";
    #[rustfmt::skip]
    let suffixes = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
    ];
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for i in 0..60 {
        let suffix = suffixes[next() % suffixes.len()];
        out.push(match i % 3 {
            0 => format!("{}{suffix}", next() % 5000),
            1 => format!("{}.{}{suffix}", next() % 100, next() % 1000),
            _ => format!("0{}{suffix}", next() % 100),
        });
    }
    for _ in 0..40 {
        let mut s = String::from(char::from(b"aZ_/"[next() % 4]));
        for _ in 0..next() % 8 {
            s.push(char::from(word[next() % word.len()]));
        }
        out.push(s);
    }
    out.push("k".repeat(1100));
    out.push("\u{85}".repeat(300));
    while out.len() < 520 {
        let mut s = String::new();
        for _ in 0..next() % 10 {
            if next() % 4 == 0 {
                s.push_str(PIECES[next() % PIECES.len()]);
            } else {
                s.push(alphabet[next() % alphabet.len()]);
            }
        }
        out.push(s);
    }
    out
}

/// A minimal reader for `json.dumps` output, so that the PyYAML test needs no JSON crate.
struct Json<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Json<'_> {
    fn peek(&mut self) -> u8 {
        while self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        self.bytes[self.pos]
    }

    fn expect(&mut self, byte: u8) {
        assert_eq!(self.peek(), byte, "at byte {}", self.pos);
        self.pos += 1;
    }

    fn value(&mut self) -> Value {
        match self.peek() {
            b'{' => {
                self.pos += 1;
                let mut map = Mapping::new();
                if self.peek() == b'}' {
                    self.pos += 1;
                    return Value::Mapping(map);
                }
                loop {
                    let key = self.string();
                    self.expect(b':');
                    map.insert(Value::String(key), self.value());
                    if self.peek() == b'}' {
                        self.pos += 1;
                        return Value::Mapping(map);
                    }
                    self.expect(b',');
                }
            }
            b'[' => {
                self.pos += 1;
                let mut seq = Vec::new();
                if self.peek() == b']' {
                    self.pos += 1;
                    return Value::Sequence(seq);
                }
                loop {
                    seq.push(self.value());
                    if self.peek() == b']' {
                        self.pos += 1;
                        return Value::Sequence(seq);
                    }
                    self.expect(b',');
                }
            }
            b'"' => Value::String(self.string()),
            _ => {
                let start = self.pos;
                while self.pos < self.bytes.len()
                    && matches!(self.bytes[self.pos], b'a'..=b'z' | b'0'..=b'9' | b'-' | b'+' | b'.' | b'E')
                {
                    self.pos += 1;
                }
                let token = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap();
                match token {
                    "null" => Value::Null,
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ if token.contains(['.', 'e', 'E']) => {
                        Value::from(token.parse::<f64>().unwrap())
                    }
                    _ => token
                        .parse::<u64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| Value::from(token.parse::<i64>().unwrap())),
                }
            }
        }
    }

    fn hex4(&mut self) -> u32 {
        let hex = std::str::from_utf8(&self.bytes[self.pos..self.pos + 4]).unwrap();
        self.pos += 4;
        u32::from_str_radix(hex, 16).unwrap()
    }

    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = Vec::new();
        loop {
            let byte = self.bytes[self.pos];
            self.pos += 1;
            match byte {
                b'"' => return String::from_utf8(out).unwrap(),
                b'\\' => {
                    let escape = self.bytes[self.pos];
                    self.pos += 1;
                    let c = match escape {
                        b'u' => {
                            let high = self.hex4();
                            if (0xD800..0xDC00).contains(&high) {
                                self.pos += 2; // the `\u` of the low surrogate
                                let low = self.hex4();
                                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                                    .unwrap()
                            } else {
                                char::from_u32(high).unwrap()
                            }
                        }
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        other => char::from(other),
                    };
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                _ => out.push(byte),
            }
        }
    }
}

#[test]
fn pyyaml_reads_what_serde_yaml_reads() {
    let has_pyyaml = Command::new("python3")
        .args(["-c", "import yaml"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !has_pyyaml {
        eprintln!("skipped pyyaml_reads_what_serde_yaml_reads: python3 with PyYAML not found");
        return;
    }
    let strings = generated_strings();
    assert!(strings.len() >= 500);
    let all = |strings: &[String]| Value::Sequence(strings.iter().map(|s| string(s)).collect());
    let mut doc = mapping(&[
        ("strings", all(&strings)),
        (
            "keys",
            Value::Mapping(strings.iter().map(|s| (string(s), string(s))).collect()),
        ),
        ("nested", Value::Sequence(vec![all(&strings[..20])])),
    ]);
    assert_plain_scalars_are_strings(&emit_document(&doc).unwrap());

    #[rustfmt::skip]
    let floats = [0.0, 4.0, 0.25, -0.0, 1e30, 1.5e16, 1e-7, 5e-324, f64::MAX, 123_456.789];
    let ints = [
        Value::from(u64::MAX),
        Value::from(i64::MIN),
        Value::from(-3),
    ];
    let numbers = floats.into_iter().map(Value::from).chain(ints).collect();
    let other = vec![
        Value::Null,
        Value::Bool(true),
        Value::Mapping(Mapping::new()),
    ];
    if let Value::Mapping(map) = &mut doc {
        map.insert(string("numbers"), Value::Sequence(numbers));
        map.insert(string("other"), Value::Sequence(other));
    }
    let text = emit_document(&doc).unwrap();

    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys,yaml,json; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ])
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONUTF8", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "PyYAML failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let back = Json {
        bytes: &output.stdout,
        pos: 0,
    }
    .value();
    let (Value::Mapping(back), Value::Mapping(want)) = (&back, &doc) else {
        panic!("PyYAML did not read a mapping");
    };
    for (key, value) in want {
        match (value, &back[key]) {
            (Value::Sequence(want), Value::Sequence(got)) => {
                assert_eq!(want.len(), got.len());
                for (w, g) in want.iter().zip(got) {
                    assert_eq!(w, g, "under {key:?}");
                }
            }
            (want, got) => assert_eq!(want, got, "under {key:?}"),
        }
    }
    assert_eq!(back.len(), want.len());
}

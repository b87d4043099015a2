//! Pictures and reports: `mlk plan -o mermaid|dot`, the HTML report every `mlk run` writes
//! (and `mlk report` writes again), `mlk lineage`, the committed Mermaid renders in
//! `examples/README.md`, and the report loaded in a real browser (headless Chromium) when
//! one is installed.

use std::path::PathBuf;

use crate::root;
use crate::run::Project;

/// `count` `true` steps in layers of about √count, each after one or two steps of the layer
/// before (so the DAG has fan-out, fan-in and crossings to untangle).
pub(crate) fn layered_steps(count: usize) -> (String, usize) {
    let width = (count as f64).sqrt().ceil() as usize;
    let mut text = String::new();
    let mut edges = 0;
    for i in 0..count {
        let (layer, row) = (i / width, i % width);
        text.push_str(&format!("[steps.s{i:04}]\ncommand = [\"true\"]\n"));
        if layer > 0 {
            let prev = (layer - 1) * width;
            let mut after = vec![prev + (row * 7 + 3) % width];
            let second = prev + (row * 3 + 1) % width;
            if second != after[0] && row % 2 == 0 {
                after.push(second);
            }
            after.sort_unstable();
            edges += after.len();
            let names: Vec<String> = after.iter().map(|a| format!("\"s{a:04}\"")).collect();
            text.push_str(&format!("after = [{}]\n", names.join(", ")));
        }
        text.push('\n');
    }
    (text, edges)
}

/// The id of the latest run of `p`.
fn latest(p: &Project) -> String {
    p.status_json()["run_id"].as_str().unwrap().to_owned()
}

/// The report of a project's latest run, as `mlk run` wrote it.
fn written_report(p: &Project) -> String {
    p.read(&format!(".mlk/runs/{}/report.html", latest(p)))
}

fn nodes(html: &str) -> usize {
    html.matches("<g class=\"node ").count()
}

fn edges(html: &str) -> usize {
    html.matches("<path class=\"edge\"").count()
}

#[test]
fn every_run_writes_a_self_contained_report_with_one_node_per_step() {
    let p = Project::new(
        r#"
[steps.a]
outputs = ["x"]
command = ["sh", "-c", "echo made > {{ outputs.x }}; echo a-done"]
[steps.b]
command = ["sh", "-c", "cat {{ steps.a.outputs.x }}"]
[steps.c]
after = ["a"]
command = ["true"]
[steps.d]
after = ["b", "c"]
command = ["sh", "-c", "echo 'tail-line-of-d <script>alert(1)</script>'"]
"#,
    );
    let out = p.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let html = written_report(&p);
    assert_eq!(nodes(&html), 4, "{html}");
    assert_eq!(edges(&html), 4, "{html}");
    assert!(html.contains("data-from=\"b\" data-to=\"d\""), "{html}");
    // Self-contained: no script, no link, nothing loaded from anywhere.
    for banned in ["<script", "<link", "src=", "@import", "url(http", "<img"] {
        assert!(!html.contains(banned), "the report has {banned}");
    }
    assert_eq!(html.matches("http").count(), 1, "only the SVG namespace");
    assert!(html.contains("@media print"), "no print stylesheet");
    // States in words and glyphs, not colour alone; the log tail; the output's lineage.
    assert!(html.contains("✓ done"), "{html}");
    // Log lines are text: escaped, never markup.
    assert!(
        html.contains("tail-line-of-d &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("<tr id=\"out-a.x\">"), "{html}");
    // `mlk report` writes the same bytes again (byte-stable for the same record).
    let again = p.mlk(&["report"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, html);
    let file = p.path().join("r.html");
    let to_file = p.mlk(&["report", "latest", "-o", file.to_str().unwrap()]);
    assert_eq!(to_file.code, 0, "{}", to_file.stderr);
    assert_eq!(std::fs::read_to_string(file).unwrap(), html);
}

#[test]
fn a_cached_step_names_the_run_it_came_from() {
    let p = Project::new(
        "[steps.a]\noutputs = [\"x\"]\ncommand = [\"sh\", \"-c\", \"echo 1 > {{ outputs.x }}; echo made-by-a\"]\n",
    );
    assert_eq!(p.run(&[]).code, 0);
    let first = latest(&p);
    assert_eq!(p.run(&[]).code, 0);
    let html = written_report(&p);
    assert!(html.contains("↺ cached"), "{html}");
    assert!(html.contains("cache hit"), "{html}");
    assert!(
        html.contains(&format!("<td>{first}</td>")),
        "the outputs' run is not {first}: {html}"
    );
    // A run without graph.json (started by an mlk without reports) has no report.
    let old_run = p.path().join(format!(".mlk/runs/{first}"));
    std::fs::remove_file(old_run.join("graph.json")).unwrap();
    let none = p.mlk(&["report", &first]);
    assert_eq!(none.code, 2, "{}", none.stderr);
    assert!(
        none.stderr
            .contains("has no graph.json: it was started by an mlk older than reports"),
        "{}",
        none.stderr
    );
    // The cached step's log is the one of the run that ran it.
    assert!(
        html.contains(&format!(
            "↺ a (cached; its log in run {first})</h3>\n<pre>made-by-a</pre>"
        )),
        "{html}"
    );
}

#[test]
fn the_timeline_draws_each_attempt_as_its_own_bar() {
    let p = Project::new(
        r#"
[steps.a]
retries = 2
command = ["sh", "-c", "if [ -f once ]; then exit 0; fi; touch once; exit 1"]
"#,
    );
    assert_eq!(p.run(&[]).code, 0);
    let html = written_report(&p);
    let bars: Vec<&str> = html
        .split("<span class=\"bar ")
        .skip(1)
        .map(|b| &b[..b.find('>').unwrap()])
        .collect();
    assert_eq!(bars.len(), 3, "{bars:?}");
    assert!(bars[0].starts_with("wait\""), "{bars:?}");
    assert!(
        bars[1].starts_with("run failed\"")
            && bars[1].contains("title=\"attempt 1: failed (exit code 1)\""),
        "{bars:?}"
    );
    assert!(bars[2].contains("title=\"attempt 2: done\""), "{bars:?}");
    assert!(html.contains("done, "), "{html}");
    assert!(html.contains(", 2 attempts</div>"), "{html}");
}

#[test]
fn lineage_names_the_step_inputs_upstream_outputs_and_runs() {
    let p = Project::new(
        r#"
[steps.prep]
inputs = { raw = "raw.csv" }
outputs = ["clean"]
command = ["sh", "-c", "cp raw.csv {{ outputs.clean }}"]
[steps.train]
outputs = ["model"]
command = ["sh", "-c", "wc -c < {{ steps.prep.outputs.clean }} > {{ outputs.model }}"]
"#,
    );
    std::fs::write(p.path().join("raw.csv"), "a,b\n1,2\n").unwrap();
    assert_eq!(p.run(&[]).code, 0);
    let first = latest(&p);
    // A second run: everything is cached, and lineage still names the first run.
    assert_eq!(p.run(&[]).code, 0);
    let out = p.mlk(&["lineage", "latest", "train.model", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let l: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(l["version"], 1);
    assert_eq!(l["step"], "train");
    assert_eq!(l["run"], first.as_str());
    assert_eq!(l["size_bytes"], 2, "{l}");
    let up = &l["upstream"][0];
    assert_eq!(up["reference"], "steps.prep.outputs.clean");
    assert_eq!(up["run"], first.as_str());
    let prep = p.mlk(&["lineage", "latest", "prep.clean"]);
    assert_eq!(prep.code, 0, "{}", prep.stderr);
    assert!(prep.stdout.contains("input:      raw "), "{}", prep.stdout);
    assert!(
        prep.stdout.contains("size:       8 bytes"),
        "{}",
        prep.stdout
    );
    let text = p.mlk(&["lineage", "latest", "train.model"]);
    assert!(
        text.stdout
            .contains("upstream:   steps.prep.outputs.clean = prep.clean (key "),
        "{}",
        text.stdout
    );
    let bad = p.mlk(&["lineage", "latest", "train.nothing"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("(outputs: prep.clean, train.model)"),
        "{}",
        bad.stderr
    );
    assert_eq!(p.mlk(&["lineage", "latest", "train"]).code, 2);
}

#[test]
fn plan_draws_the_dag_in_mermaid_and_dot() {
    let pair = crate::Pair {
        pipeline: "batch-inference".into(),
        stack: "local".into(),
    };
    let plan = |format: &str| pair.plan(format);
    let dot = plan("dot");
    crate::snapshots().bind(|| insta::assert_snapshot!("plan_dot_batch_inference", dot));
    assert_eq!(dot, plan("dot"), "dot output is not byte-stable");
    // Graphviz reads it, when it is installed: one node per step.
    if let Ok(mut child) = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(dot.as_bytes())
            .unwrap();
        let svg = child.wait_with_output().unwrap();
        assert!(svg.status.success(), "{svg:?}");
        let svg = String::from_utf8_lossy(&svg.stdout);
        assert_eq!(svg.matches("class=\"node\"").count(), 6, "{svg}");
    }
    let mermaid = plan("mermaid");
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    // 6 steps, 8 dependencies (prepare → 4 scorers → merge).
    assert_eq!(mermaid.matches(" --> ").count(), 8, "{mermaid}");
    assert!(mermaid.contains("cache miss"), "{mermaid}");
}

/// The first stack `examples/matrix.txt` lists for each example pipeline.
fn example_pairs() -> Vec<crate::Pair> {
    let mut seen = std::collections::BTreeSet::new();
    crate::matrix()
        .into_iter()
        .filter(|p| seen.insert(p.pipeline.clone()))
        .collect()
}

#[test]
fn committed_mermaid_renders_of_the_examples_are_up_to_date() {
    let update = std::env::var_os("MLK_UPDATE_EXAMPLES").is_some_and(|v| !v.is_empty());
    let rel = "examples/README.md";
    let mut text = std::fs::read_to_string(root().join(rel)).unwrap();
    for pair in example_pairs() {
        let mermaid = pair.plan("mermaid");
        let open = format!("<!-- mermaid {} {} -->\n", pair.pipeline, pair.stack);
        let close = format!("<!-- /mermaid {} -->", pair.pipeline);
        let start = text
            .find(&open)
            .unwrap_or_else(|| panic!("{rel} has no `{}`", open.trim()))
            + open.len();
        let end = start
            + text[start..]
                .find(&close)
                .unwrap_or_else(|| panic!("{rel} has no `{close}`"));
        let block = format!("```mermaid\n{mermaid}```\n");
        text.replace_range(start..end, &block);
    }
    assert!(
        !crate::stale_generated_file(rel, &text, update),
        "{rel}'s Mermaid renders differ from `mlk plan -o mermaid`; regenerate them with\n\n    MLK_UPDATE_EXAMPLES=1 cargo test mermaid\n\nand commit the result"
    );
}

/// Where the browser test leaves its screenshot (`.ci/run` checks that it was made).
fn screenshot_path() -> PathBuf {
    root().join("target/report-browser/report-200.png")
}

/// Headless Chromium with `args`, in a new empty profile, reaching nothing but the file it
/// loads; panics unless it exits 0.
fn chromium(args: &[String]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium {args:?}: {out:?}");
    out
}

#[test]
fn a_200_step_report_loads_in_headless_chromium() {
    let present = std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        assert!(
            std::env::var_os("MLK_REQUIRE_BROWSER").is_none(),
            "MLK_REQUIRE_BROWSER is set and chromium is not installed"
        );
        eprintln!("skipped: chromium is not installed");
        return;
    }
    let (steps, deps) = layered_steps(200);
    let p = Project::new(&steps);
    let out = p.run(&["-j", "8"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = p
        .path()
        .join(format!(".mlk/runs/{}/report.html", latest(&p)));
    let url = format!("file://{}", report.display());
    let dom = chromium(&["--dump-dom".into(), url.clone()]);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(nodes(&dom_text), 200, "nodes in the loaded DOM");
    assert_eq!(edges(&dom_text), deps, "edges in the loaded DOM");
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(
        !log.contains(":CONSOLE"),
        "the page logged to the console:\n{log}"
    );
    let shot = screenshot_path();
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&shot);
    chromium(&[
        "--window-size=1280,1600".into(),
        format!("--screenshot={}", shot.display()),
        url.clone(),
    ]);
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "no PNG at {}", shot.display());
    // Chromium prints it (with the print stylesheet) to a PDF.
    let pdf = shot.with_file_name("report-200.pdf");
    chromium(&[
        "--no-pdf-header-footer".into(),
        format!("--print-to-pdf={}", pdf.display()),
        url,
    ]);
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"), "no PDF");
}

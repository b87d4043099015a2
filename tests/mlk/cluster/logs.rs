//! Following logs: container restarts, dropped streams, replacement pods, replica prefixes,
//! pods found by a watch, and `mlk logs` of a run from another process.

use super::{Cluster, KUEUE, PIPELINE, STACK, lines, script};
use crate::detach::StopRuns;
use crate::fake_api::{FakeApi, Script};

#[test]
fn logs_survive_a_container_restart_and_a_dropped_stream() {
    let c = Cluster::new(PIPELINE, STACK);
    let numbered: Vec<String> = (1..=6).map(|i| format!("line {i} of train")).collect();
    c.api.script(
        "train",
        Script {
            lines: numbered.clone(),
            restart_after: Some(3),
            ..Script::default()
        },
    );
    c.api.drop_next_log_after("-train-", 1);
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    for l in &numbered {
        assert_eq!(lines(&all, l), 1, "{l} exactly once in:\n{all}");
    }
    let reopened = c
        .api
        .requests()
        .iter()
        .filter(|r| r.contains("-train-") && r.contains("/log?") && r.contains("sinceTime="))
        .count();
    assert!(
        reopened >= 2,
        "the stream was reopened after the drop and the restart"
    );
}

#[test]
fn logs_follow_a_replacement_pod() {
    let c = Cluster::new(PIPELINE, STACK);
    let numbered: Vec<String> = (1..=5).map(|i| format!("shard {i} done")).collect();
    c.api.script(
        "train",
        Script {
            lines: numbered.clone(),
            replace_after: Some(2),
            ..Script::default()
        },
    );
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    for l in &numbered {
        assert_eq!(lines(&all, l), 1, "{l} exactly once in:\n{all}");
    }
    assert_eq!(
        c.api.objects("pods").len(),
        4,
        "prep, eval, and two train pods"
    );
}

#[test]
fn a_pytorch_step_waits_for_succeeded_and_prefixes_its_replica() {
    let pipeline = "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.big]\nkind = \"pytorch\"\nreplicas = 2\ncommand = [\"python\", \"train.py\"]\n";
    let c = Cluster::new(pipeline, STACK);
    c.api.script("big", script(&["rank 0 ready"]));
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("[big/master-0] rank 0 ready"),
        "{}",
        out.stdout
    );
    assert_eq!(c.api.objects("pytorchjobs").len(), 1);
    // The stored log reads the same as the live one.
    let stored = c.mlk(&["logs", "latest"]);
    assert_eq!(stored.code, 0, "{}", stored.stderr);
    assert_eq!(stored.stdout, "[big/master-0] rank 0 ready\n");
}

#[test]
fn logs_follow_a_detached_run_from_another_process() {
    let c = Cluster::new(PIPELINE, STACK);
    let _stop = StopRuns(c.path());
    let numbered: Vec<String> = (1..=6).map(|i| format!("line {i} of prep")).collect();
    c.api.script(
        "prep",
        Script {
            lines: numbered.clone(),
            // Still not started when `mlk logs -f` begins: it must wait and follow.
            admit_after: Some(std::time::Duration::from_millis(800)),
            restart_after: Some(4),
            ..Script::default()
        },
    );
    c.api.drop_next_log_after("-prep-", 2);
    let out = c.run(&["--detach", "--only", "prep"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = out.stdout.trim().to_owned();

    let followed = c.elsewhere(&["logs", &run_id, "-f", "-n", "ml"]);
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    for l in &numbered {
        assert_eq!(
            lines(&followed.stdout, &format!("[prep] {l}")),
            1,
            "{l} exactly once in:\n{}",
            followed.stdout
        );
    }
    assert_eq!(
        followed.stdout.lines().count(),
        numbered.len(),
        "{}",
        followed.stdout
    );
    let reopened = c
        .api
        .requests()
        .iter()
        .filter(|r| r.contains("-prep-") && r.contains("/log?") && r.contains("sinceTime="))
        .count();
    assert!(reopened >= 1, "the stream was reopened after the drop");
    let job = c.api.objects("jobs");
    let job = job.values().next().unwrap();
    assert_eq!(
        job["status"]["conditions"][0]["type"], "Complete",
        "exited when the job completed"
    );

    // Without -f: what is there, then exit; one step only; --cluster from the same directory.
    let once = c.elsewhere(&["logs", &run_id, "prep", "-n", "ml"]);
    assert_eq!(once.code, 0, "{}", once.stderr);
    assert_eq!(
        once.stdout.lines().count(),
        numbered.len(),
        "{}",
        once.stdout
    );
    assert!(
        once.stdout.starts_with("[prep] line 1 of prep\n"),
        "{}",
        once.stdout
    );
    let here = c.mlk(&["logs", &run_id, "--cluster", "-n", "ml"]);
    assert_eq!(here.code, 0, "{}", here.stderr);
    assert_eq!(here.stdout, once.stdout);
}

#[test]
fn logs_of_a_cluster_run_prefix_the_replica() {
    let pipeline = "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.big]\nkind = \"pytorch\"\nreplicas = 2\ncommand = [\"python\", \"train.py\"]\n";
    let c = Cluster::new(pipeline, STACK);
    let _stop = StopRuns(c.path());
    c.api.script("big", script(&["rank 0 ready"]));
    let out = c.run(&["--detach", "--only", "big"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = out.stdout.trim().to_owned();
    let followed = c.elsewhere(&["logs", &run_id, "-f", "-n", "ml"]);
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    assert_eq!(followed.stdout, "[big/master-0] rank 0 ready\n");
}

#[test]
fn logs_of_an_unknown_run() {
    let c = Cluster::new(PIPELINE, STACK);
    let out = c.elsewhere(&["logs", "20260101-000000-dead", "-f", "-n", "ml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no run `20260101-000000-dead` in .mlk/runs, and no objects or pods labelled mlk.dev/run=20260101-000000-dead in namespace `ml`"),
        "{}",
        out.stderr
    );

    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let config = std::fs::read_to_string(c.path().join("kubeconfig")).unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = port
        .replace(&config, free.to_string().as_str())
        .into_owned();
    std::fs::write(c.path().join("kubeconfig"), config).unwrap();
    let out = c.elsewhere(&["logs", "20260101-000000-dead", "-n", "ml"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("mlk::cluster::unreachable"),
        "{}",
        out.stderr
    );
}

/// (LISTs, WATCHes) of the pods of namespace `ml` whose label selector starts with
/// `selector` (URL-encoded) that `api` served so far.
fn pod_lists_and_watches(api: &FakeApi, selector: &str) -> (usize, usize) {
    let requests = api.requests();
    let of_pods: Vec<&String> = requests
        .iter()
        .filter(|r| {
            r.starts_with("GET /api/v1/namespaces/ml/pods?")
                && r.contains(&format!("labelSelector={selector}"))
        })
        .collect();
    let watches = of_pods.iter().filter(|r| r.contains("watch=true")).count();
    (of_pods.len() - watches, watches)
}

#[test]
fn pods_of_a_running_step_are_found_by_a_watch_not_by_polling() {
    let pipeline = "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.train]\ncommand = [\"python\", \"train.py\"]\n";
    let c = Cluster::new(pipeline, &format!("{STACK}{KUEUE}")).with_queue();
    let numbered: Vec<String> = (1..=6).map(|i| format!("part {i} written")).collect();
    c.api.script(
        "train",
        Script {
            lines: numbered.clone(),
            // Suspended for a while (no pod yet), then a pod that is replaced mid-step.
            admit_after: Some(std::time::Duration::from_secs(4)),
            replace_after: Some(3),
            ..Script::default()
        },
    );
    // Some watch (of the pods or of the Job) ends with 410 Gone and is started over.
    c.api.expire_watches(2);
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    for l in &numbered {
        assert_eq!(lines(&all, l), 1, "{l} exactly once in:\n{all}");
    }
    assert_eq!(
        c.api.objects("pods").len(),
        2,
        "the pod and its replacement"
    );
    let step = "mlk.dev%2Fpipeline%3Dt%2Cmlk.dev%2Fstep%3Dtrain%2C";
    let (lists, watches) = pod_lists_and_watches(&c.api, step);
    // Polling every 250 ms would list more than 15 times in the 4 s of suspension alone.
    // Here: the first list, one per expired watch and the last one; the progress line's
    // pending reasons come from the same watch.
    assert!(lists <= 4, "{lists} pod lists");
    assert!(watches >= 1, "{watches} pod watches");
}

#[test]
fn logs_follow_finds_the_pods_of_a_detached_run_by_a_watch() {
    let pipeline = "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.train]\ncommand = [\"python\", \"train.py\"]\n";
    let c = Cluster::new(pipeline, STACK);
    let _stop = StopRuns(c.path());
    let numbered: Vec<String> = (1..=6).map(|i| format!("part {i} written")).collect();
    c.api.script(
        "train",
        Script {
            lines: numbered.clone(),
            // No pod for a while after `mlk logs -f` begins, then one that is replaced.
            admit_after: Some(std::time::Duration::from_secs(3)),
            replace_after: Some(3),
            ..Script::default()
        },
    );
    let out = c.run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = out.stdout.trim().to_owned();
    // A run's selector: a detached run's own process follows with the step's.
    let run = "mlk.dev%2Frun%3D";
    let before = pod_lists_and_watches(&c.api, run);
    let discovery = |api: &FakeApi| {
        let r = api.requests();
        r.iter().filter(|r| *r == "GET /apis/batch/v1").count()
    };
    let job_lists = |api: &FakeApi| {
        let r = api.requests();
        r.iter()
            // By the run's label: the detached run's own workload watch lists its Job by name.
            .filter(|r| {
                r.starts_with("GET /apis/batch/v1/namespaces/ml/jobs?")
                    && !r.contains("fieldSelector=")
            })
            .count()
    };
    let (discovered, listed) = (discovery(&c.api), job_lists(&c.api));

    let followed = c.elsewhere(&["logs", &run_id, "-f", "-n", "ml"]);
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    for l in &numbered {
        assert_eq!(
            lines(&followed.stdout, &format!("] {l}")),
            1,
            "{l} exactly once in:\n{}",
            followed.stdout
        );
    }
    let after = pod_lists_and_watches(&c.api, run);
    let (lists, watches) = (after.0 - before.0, after.1 - before.1);
    // Polling every 250 ms would list more than 10 times in the 3 s before the pod exists.
    assert!(lists <= 4, "{lists} pod lists");
    assert!(watches >= 1, "{watches} pod watches");
    // The run's kinds are discovered once; its Jobs are looked at every 2 s, not every 250 ms
    // (about 4 s of following: at most a few lists, where 250 ms would make 16).
    assert_eq!(discovery(&c.api) - discovered, 1, "discovery of batch/v1");
    let job_lists = job_lists(&c.api) - listed;
    assert!(job_lists <= 5, "{job_lists} Job lists");
}

#[test]
fn a_log_that_cannot_be_read_is_said_once_per_container() {
    let c = Cluster::new(PIPELINE, STACK);
    // No kubelet: the API server answers 204 with an empty body (the fake's pods are on no
    // node, as kube-apiserver v1.28 answers for such a pod).
    c.api.no_kubelet();
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "the steps themselves succeed: {}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    for step in ["prep", "train", "eval"] {
        assert_eq!(
            lines(
                &all,
                &format!("[{step}] mlk: cannot read the log of pod t-{step}-")
            ),
            1,
            "once for {step}, with the reason:\n{all}"
        );
    }
    assert_eq!(lines(&all, "answered 204 with no content"), 3, "{all}");
    let run_id = std::fs::read_dir(c.path().join(".mlk/runs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("20"))
        .unwrap();
    for args in [
        vec!["logs", run_id.as_str(), "-n", "ml"],
        vec!["logs", run_id.as_str(), "-f", "-n", "ml"],
    ] {
        let out = c.elsewhere(&args);
        assert_eq!(
            out.code, 3,
            "{args:?} read nothing: {}{}",
            out.stdout, out.stderr
        );
        assert!(
            out.stderr.contains("no log of the run could be read") && out.stderr.contains("204"),
            "{}",
            out.stderr
        );
        if args.len() == 4 {
            c.snapshot("cluster_logs_unread", &out);
        }
    }
}

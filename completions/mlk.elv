
use builtin;
use str;

set edit:completion:arg-completer[mlk] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'mlk'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'mlk'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand render 'Render Kubernetes manifests for a pipeline on a stack'
            cand push 'Store a pipeline''s local inputs in the stack''s artifact store, by content'
            cand plan 'Show what would run: every step''s kind, resources, GPUs, queue and object name'
            cand check 'Validate a pipeline against a stack without writing anything'
            cand cache 'List, explain and clear cache records'
            cand run 'Run a pipeline: independent steps in parallel, cached steps skipped'
            cand status 'Show a run''s steps from its local record (latest by default), or from the cluster'
            cand delete 'Stop a run going on here, and delete a cluster run''s objects (by label)'
            cand logs 'Print the logs of a run: stored ones of a local run, or its pods'' in the cluster'
            cand report 'Write a run''s HTML report: DAG, timeline, cache, outputs, lineage, log tails'
            cand lineage 'Show where an output of a run came from: step, cache key, inputs, upstream runs'
            cand stack 'A stack''s admin objects: its tenant namespace, queues, flavors, priority classes'
            cand doctor 'Check that a stack can run on its cluster: operators, GPUs, queues, permissions'
            cand init 'Create a pipeline and its stacks to start from'
            cand man 'Write manual pages (roff): the top page to stdout, or every page into DIR'
            cand schema 'Print the JSON Schema of pipeline or stack files, for editors'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mlk;render'= {
            cand -s 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand --stack 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand -p 'Override a pipeline parameter (repeatable)'
            cand --param 'Override a pipeline parameter (repeatable)'
            cand --run-date 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline''s time zone'
            cand -o 'Write `<kind>-<name>.yaml` files and a kustomization.yaml into DIR instead of stdout'
            cand --output-dir 'Write `<kind>-<name>.yaml` files and a kustomization.yaml into DIR instead of stdout'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand --check 'Write nothing; exit 1 with a diff when DIR differs from what would be written'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;push'= {
            cand -s 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand --stack 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand -p 'Override a pipeline parameter (repeatable)'
            cand --param 'Override a pipeline parameter (repeatable)'
            cand --run-date 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline''s time zone'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand --check 'Upload nothing; exit 1 when an input is not in the store yet'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;plan'= {
            cand -s 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand --stack 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand -p 'Override a pipeline parameter (repeatable)'
            cand --param 'Override a pipeline parameter (repeatable)'
            cand --run-date 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline''s time zone'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;check'= {
            cand -s 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand --stack 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand -p 'Override a pipeline parameter (repeatable)'
            cand --param 'Override a pipeline parameter (repeatable)'
            cand --run-date 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline''s time zone'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;cache'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand ls 'List the records of the local cache store (.mlk/cache): pipeline, step, key, age, run, outputs'
            cand explain 'Print every component of a step''s cache key with its digest, and the step''s status'
            cand clear 'Remove records of the local cache store: all of them, or one step''s'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mlk;cache;ls'= {
            cand --pipeline 'Only this pipeline''s records (its `[pipeline] name`)'
            cand -s 'The records of this stack''s store (default: .mlk/cache)'
            cand --stack 'The records of this stack''s store (default: .mlk/cache)'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;cache;explain'= {
            cand -s 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand --stack 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand -p 'Override a pipeline parameter (repeatable)'
            cand --param 'Override a pipeline parameter (repeatable)'
            cand --run-date 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline''s time zone'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;cache;clear'= {
            cand --pipeline 'Only this pipeline''s records (its `[pipeline] name`)'
            cand -s 'The records of this stack''s store (default: .mlk/cache)'
            cand --stack 'The records of this stack''s store (default: .mlk/cache)'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;cache;help'= {
            cand ls 'List the records of the local cache store (.mlk/cache): pipeline, step, key, age, run, outputs'
            cand explain 'Print every component of a step''s cache key with its digest, and the step''s status'
            cand clear 'Remove records of the local cache store: all of them, or one step''s'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mlk;cache;help;ls'= {
        }
        &'mlk;cache;help;explain'= {
        }
        &'mlk;cache;help;clear'= {
        }
        &'mlk;cache;help;help'= {
        }
        &'mlk;run'= {
            cand -s 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand --stack 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand -p 'Override a pipeline parameter (repeatable)'
            cand --param 'Override a pipeline parameter (repeatable)'
            cand --run-date 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline''s time zone'
            cand --from 'Run STEP and everything downstream of it; upstream steps must be cached'
            cand --only 'Run only STEP; the steps it reads from must be cached'
            cand -j 'Steps running at the same time (default: the number of CPUs)'
            cand --jobs 'Steps running at the same time (default: the number of CPUs)'
            cand --dry-run 'Print what would run and what is cached, and run nothing'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand --no-cache 'Run every selected step, even when its result is cached'
            cand --detach 'Go on in the background: print the run id once the first step has started, and leave the rest of the run to a background mlk process (`mlk delete RUN` stops it)'
            cand --keep-failed 'On a cluster: leave the workload of a failed step (failed, timed out, image not pulled…) for inspection; by default it is deleted (its log is kept by mlk)'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;status'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand --cluster 'Read the run''s objects from the cluster (by the `mlk.dev/run` label) instead of the local record'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;delete'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;logs'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -f 'Follow the logs until the run ends (a cluster run: until every workload of the run has finished)'
            cand --follow 'Follow the logs until the run ends (a cluster run: until every workload of the run has finished)'
            cand --cluster 'Read the logs from the cluster (pods labelled `mlk.dev/run=RUN`) even when the run is in the local `.mlk/runs`; the default for runs that are not'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;report'= {
            cand -o 'Write the report to FILE instead of stdout'
            cand --output 'Write the report to FILE instead of stdout'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;lineage'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;stack'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand render 'Print (or write into DIR) the stack''s admin objects, for the cluster admin to apply'
            cand check 'Check a stack file on its own (syntax, queues, GPU types and sharing settings)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mlk;stack;render'= {
            cand -o 'Write `<kind>-<name>.yaml` files and a kustomization.yaml into DIR instead of stdout'
            cand --output-dir 'Write `<kind>-<name>.yaml` files and a kustomization.yaml into DIR instead of stdout'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand --check 'Write nothing; exit 1 with a diff when DIR differs from what would be written'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;stack;check'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;stack;help'= {
            cand render 'Print (or write into DIR) the stack''s admin objects, for the cluster admin to apply'
            cand check 'Check a stack file on its own (syntax, queues, GPU types and sharing settings)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mlk;stack;help;render'= {
        }
        &'mlk;stack;help;check'= {
        }
        &'mlk;stack;help;help'= {
        }
        &'mlk;doctor'= {
            cand -s 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml) or path'
            cand --stack 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml) or path'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;init'= {
            cand --template 'What to start from'
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand --force 'Overwrite files that already exist'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;man'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;schema'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;completions'= {
            cand --kubeconfig 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'
            cand --context 'kubeconfig context to use (default: the stack''s `context`, then the current context)'
            cand -n 'Namespace of every object, instead of the stack''s'
            cand --namespace 'Namespace of every object, instead of the stack''s'
            cand --color 'When to use colours'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more about what mlk does'
            cand --verbose 'Print more about what mlk does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mlk;help'= {
            cand render 'Render Kubernetes manifests for a pipeline on a stack'
            cand push 'Store a pipeline''s local inputs in the stack''s artifact store, by content'
            cand plan 'Show what would run: every step''s kind, resources, GPUs, queue and object name'
            cand check 'Validate a pipeline against a stack without writing anything'
            cand cache 'List, explain and clear cache records'
            cand run 'Run a pipeline: independent steps in parallel, cached steps skipped'
            cand status 'Show a run''s steps from its local record (latest by default), or from the cluster'
            cand delete 'Stop a run going on here, and delete a cluster run''s objects (by label)'
            cand logs 'Print the logs of a run: stored ones of a local run, or its pods'' in the cluster'
            cand report 'Write a run''s HTML report: DAG, timeline, cache, outputs, lineage, log tails'
            cand lineage 'Show where an output of a run came from: step, cache key, inputs, upstream runs'
            cand stack 'A stack''s admin objects: its tenant namespace, queues, flavors, priority classes'
            cand doctor 'Check that a stack can run on its cluster: operators, GPUs, queues, permissions'
            cand init 'Create a pipeline and its stacks to start from'
            cand man 'Write manual pages (roff): the top page to stdout, or every page into DIR'
            cand schema 'Print the JSON Schema of pipeline or stack files, for editors'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mlk;help;render'= {
        }
        &'mlk;help;push'= {
        }
        &'mlk;help;plan'= {
        }
        &'mlk;help;check'= {
        }
        &'mlk;help;cache'= {
            cand ls 'List the records of the local cache store (.mlk/cache): pipeline, step, key, age, run, outputs'
            cand explain 'Print every component of a step''s cache key with its digest, and the step''s status'
            cand clear 'Remove records of the local cache store: all of them, or one step''s'
        }
        &'mlk;help;cache;ls'= {
        }
        &'mlk;help;cache;explain'= {
        }
        &'mlk;help;cache;clear'= {
        }
        &'mlk;help;run'= {
        }
        &'mlk;help;status'= {
        }
        &'mlk;help;delete'= {
        }
        &'mlk;help;logs'= {
        }
        &'mlk;help;report'= {
        }
        &'mlk;help;lineage'= {
        }
        &'mlk;help;stack'= {
            cand render 'Print (or write into DIR) the stack''s admin objects, for the cluster admin to apply'
            cand check 'Check a stack file on its own (syntax, queues, GPU types and sharing settings)'
        }
        &'mlk;help;stack;render'= {
        }
        &'mlk;help;stack;check'= {
        }
        &'mlk;help;doctor'= {
        }
        &'mlk;help;init'= {
        }
        &'mlk;help;man'= {
        }
        &'mlk;help;schema'= {
        }
        &'mlk;help;completions'= {
        }
        &'mlk;help;help'= {
        }
    ]
    $completions[$command]
}

# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_mlk_global_optspecs
    string join \n kubeconfig= context= n/namespace= color= q/quiet v/verbose h/help V/version
end

function __fish_mlk_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_mlk_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_mlk_using_subcommand
    set -l cmd (__fish_mlk_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c mlk -n "__fish_mlk_needs_command" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_needs_command" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_needs_command" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_needs_command" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_needs_command" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_needs_command" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_needs_command" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "render" -d 'Render Kubernetes manifests for a pipeline on a stack'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "push" -d 'Store a pipeline\'s local inputs in the stack\'s artifact store, by content'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "plan" -d 'Show what would run: every step\'s kind, resources, GPUs, queue and object name'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "check" -d 'Validate a pipeline against a stack without writing anything'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "cache" -d 'List, explain and clear cache records'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "run" -d 'Run a pipeline: independent steps in parallel, cached steps skipped'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "status" -d 'Show a run\'s steps from its local record (latest by default), or from the cluster'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "delete" -d 'Stop a run going on here, and delete a cluster run\'s objects (by label)'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "logs" -d 'Print the logs of a run: stored ones of a local run, or its pods\' in the cluster'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "report" -d 'Write a run\'s HTML report: DAG, timeline, cache, outputs, lineage, log tails'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "lineage" -d 'Show where an output of a run came from: step, cache key, inputs, upstream runs'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "stack" -d 'A stack\'s admin objects: its tenant namespace, queues, flavors, priority classes'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "doctor" -d 'Check that a stack can run on its cluster: operators, GPUs, queues, permissions'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "init" -d 'Create a pipeline and its stacks to start from'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "man" -d 'Write manual pages (roff): the top page to stdout, or every page into DIR'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "schema" -d 'Print the JSON Schema of pipeline or stack files, for editors'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mlk -n "__fish_mlk_using_subcommand render" -s s -l stack -d 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path' -r
complete -c mlk -n "__fish_mlk_using_subcommand render" -s p -l param -d 'Override a pipeline parameter (repeatable)' -r
complete -c mlk -n "__fish_mlk_using_subcommand render" -l run-date -d 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline\'s time zone' -r
complete -c mlk -n "__fish_mlk_using_subcommand render" -s o -l output-dir -d 'Write `<kind>-<name>.yaml` files and a kustomization.yaml into DIR instead of stdout' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand render" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand render" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand render" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand render" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand render" -l check -d 'Write nothing; exit 1 with a diff when DIR differs from what would be written'
complete -c mlk -n "__fish_mlk_using_subcommand render" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand render" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand render" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand render" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand push" -s s -l stack -d 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path' -r
complete -c mlk -n "__fish_mlk_using_subcommand push" -s p -l param -d 'Override a pipeline parameter (repeatable)' -r
complete -c mlk -n "__fish_mlk_using_subcommand push" -l run-date -d 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline\'s time zone' -r
complete -c mlk -n "__fish_mlk_using_subcommand push" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand push" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand push" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand push" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand push" -l check -d 'Upload nothing; exit 1 when an input is not in the store yet'
complete -c mlk -n "__fish_mlk_using_subcommand push" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand push" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand push" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand plan" -s s -l stack -d 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path' -r
complete -c mlk -n "__fish_mlk_using_subcommand plan" -s p -l param -d 'Override a pipeline parameter (repeatable)' -r
complete -c mlk -n "__fish_mlk_using_subcommand plan" -l run-date -d 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline\'s time zone' -r
complete -c mlk -n "__fish_mlk_using_subcommand plan" -s o -l output -d 'Output format' -r -f -a "table\t'An aligned table'
json\t'The whole plan as JSON (stable field names; see the README)'
mermaid\t'The DAG as a Mermaid flowchart (GitHub and GitLab render it in Markdown)'
dot\t'The DAG in Graphviz DOT (`| dot -Tsvg`)'"
complete -c mlk -n "__fish_mlk_using_subcommand plan" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand plan" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand plan" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand plan" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand plan" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand plan" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand plan" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand check" -s s -l stack -d 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path' -r
complete -c mlk -n "__fish_mlk_using_subcommand check" -s p -l param -d 'Override a pipeline parameter (repeatable)' -r
complete -c mlk -n "__fish_mlk_using_subcommand check" -l run-date -d 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline\'s time zone' -r
complete -c mlk -n "__fish_mlk_using_subcommand check" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand check" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand check" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand check" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand check" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand check" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand check" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -f -a "ls" -d 'List the records of the local cache store (.mlk/cache): pipeline, step, key, age, run, outputs'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -f -a "explain" -d 'Print every component of a step\'s cache key with its digest, and the step\'s status'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -f -a "clear" -d 'Remove records of the local cache store: all of them, or one step\'s'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and not __fish_seen_subcommand_from ls explain clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from ls" -l pipeline -d 'Only this pipeline\'s records (its `[pipeline] name`)' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from ls" -s s -l stack -d 'The records of this stack\'s store (default: .mlk/cache)' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from ls" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from ls" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from ls" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from ls" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from explain" -s s -l stack -d 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from explain" -s p -l param -d 'Override a pipeline parameter (repeatable)' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from explain" -l run-date -d 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline\'s time zone' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from explain" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from explain" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from explain" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from explain" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from explain" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from explain" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from explain" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from clear" -l pipeline -d 'Only this pipeline\'s records (its `[pipeline] name`)' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from clear" -s s -l stack -d 'The records of this stack\'s store (default: .mlk/cache)' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from clear" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from clear" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from clear" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from clear" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from clear" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from clear" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from clear" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List the records of the local cache store (.mlk/cache): pipeline, step, key, age, run, outputs'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "explain" -d 'Print every component of a step\'s cache key with its digest, and the step\'s status'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Remove records of the local cache store: all of them, or one step\'s'
complete -c mlk -n "__fish_mlk_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mlk -n "__fish_mlk_using_subcommand run" -s s -l stack -d 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path' -r
complete -c mlk -n "__fish_mlk_using_subcommand run" -s p -l param -d 'Override a pipeline parameter (repeatable)' -r
complete -c mlk -n "__fish_mlk_using_subcommand run" -l run-date -d 'The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the pipeline\'s time zone' -r
complete -c mlk -n "__fish_mlk_using_subcommand run" -l from -d 'Run STEP and everything downstream of it; upstream steps must be cached' -r
complete -c mlk -n "__fish_mlk_using_subcommand run" -l only -d 'Run only STEP; the steps it reads from must be cached' -r
complete -c mlk -n "__fish_mlk_using_subcommand run" -s j -l jobs -d 'Steps running at the same time (default: the number of CPUs)' -r
complete -c mlk -n "__fish_mlk_using_subcommand run" -l dry-run -d 'Print what would run and what is cached, and run nothing' -r -f -a "client\t'Decide locally (cache records, selection); the only mode of the local backend'
server\t'Ask the cluster (needs the kubernetes backend)'"
complete -c mlk -n "__fish_mlk_using_subcommand run" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand run" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand run" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand run" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand run" -l no-cache -d 'Run every selected step, even when its result is cached'
complete -c mlk -n "__fish_mlk_using_subcommand run" -l detach -d 'Go on in the background: print the run id once the first step has started, and leave the rest of the run to a background mlk process (`mlk delete RUN` stops it)'
complete -c mlk -n "__fish_mlk_using_subcommand run" -l keep-failed -d 'On a cluster: leave the workload of a failed step (failed, timed out, image not pulled…) for inspection; by default it is deleted (its log is kept by mlk)'
complete -c mlk -n "__fish_mlk_using_subcommand run" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand run" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand run" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand status" -s o -l output -d 'Output format' -r -f -a "table\t'An aligned table'
json\t'The run record (`run.json`)'"
complete -c mlk -n "__fish_mlk_using_subcommand status" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand status" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand status" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand status" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand status" -l cluster -d 'Read the run\'s objects from the cluster (by the `mlk.dev/run` label) instead of the local record'
complete -c mlk -n "__fish_mlk_using_subcommand status" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand status" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand status" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand delete" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand delete" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand delete" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand delete" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand delete" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand delete" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand delete" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand logs" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand logs" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand logs" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand logs" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand logs" -s f -l follow -d 'Follow the logs until the run ends (a cluster run: until every workload of the run has finished)'
complete -c mlk -n "__fish_mlk_using_subcommand logs" -l cluster -d 'Read the logs from the cluster (pods labelled `mlk.dev/run=RUN`) even when the run is in the local `.mlk/runs`; the default for runs that are not'
complete -c mlk -n "__fish_mlk_using_subcommand logs" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand logs" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand logs" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand logs" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand report" -s o -l output -d 'Write the report to FILE instead of stdout' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand report" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand report" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand report" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand report" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand report" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand report" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand report" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand lineage" -s o -l output -d 'Output format' -r -f -a "text\t'Lines of text'
json\t'One JSON object (stable field names)'"
complete -c mlk -n "__fish_mlk_using_subcommand lineage" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand lineage" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand lineage" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand lineage" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand lineage" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand lineage" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand lineage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand lineage" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and not __fish_seen_subcommand_from render check help" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand stack; and not __fish_seen_subcommand_from render check help" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand stack; and not __fish_seen_subcommand_from render check help" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand stack; and not __fish_seen_subcommand_from render check help" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand stack; and not __fish_seen_subcommand_from render check help" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and not __fish_seen_subcommand_from render check help" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and not __fish_seen_subcommand_from render check help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and not __fish_seen_subcommand_from render check help" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and not __fish_seen_subcommand_from render check help" -f -a "render" -d 'Print (or write into DIR) the stack\'s admin objects, for the cluster admin to apply'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and not __fish_seen_subcommand_from render check help" -f -a "check" -d 'Check a stack file on its own (syntax, queues, GPU types and sharing settings)'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and not __fish_seen_subcommand_from render check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from render" -s o -l output-dir -d 'Write `<kind>-<name>.yaml` files and a kustomization.yaml into DIR instead of stdout' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from render" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from render" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from render" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from render" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from render" -l check -d 'Write nothing; exit 1 with a diff when DIR differs from what would be written'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from render" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from render" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from render" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from render" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from check" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from check" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from check" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from check" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from help" -f -a "render" -d 'Print (or write into DIR) the stack\'s admin objects, for the cluster admin to apply'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check a stack file on its own (syntax, queues, GPU types and sharing settings)'
complete -c mlk -n "__fish_mlk_using_subcommand stack; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mlk -n "__fish_mlk_using_subcommand doctor" -s s -l stack -d 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml) or path' -r
complete -c mlk -n "__fish_mlk_using_subcommand doctor" -s o -l output -d 'Output format' -r -f -a "text\t'One line per requirement, and what to do'
json\t'`{stack, server, namespace, can_run, checks: [{area, what, status, detail, fix, required}]}`'"
complete -c mlk -n "__fish_mlk_using_subcommand doctor" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand doctor" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand doctor" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand doctor" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand doctor" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand doctor" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand init" -l template -d 'What to start from' -r -f -a "quickstart\t'A two-step pipeline and the local stack'
train-serve\t'A training step and a KServe serve step, with a local and a Knative dev stack'"
complete -c mlk -n "__fish_mlk_using_subcommand init" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand init" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand init" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand init" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand init" -l force -d 'Overwrite files that already exist'
complete -c mlk -n "__fish_mlk_using_subcommand init" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand init" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand init" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand man" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand man" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand man" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand man" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand man" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand man" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand man" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand schema" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand schema" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand schema" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand schema" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand schema" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand schema" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand schema" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand schema" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand completions" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c mlk -n "__fish_mlk_using_subcommand completions" -l context -d 'kubeconfig context to use (default: the stack\'s `context`, then the current context)' -r
complete -c mlk -n "__fish_mlk_using_subcommand completions" -s n -l namespace -d 'Namespace of every object, instead of the stack\'s' -r
complete -c mlk -n "__fish_mlk_using_subcommand completions" -l color -d 'When to use colours' -r -f -a "auto\t'Colour when stderr is a terminal and NO_COLOR is not set'
always\t'Always colour'
never\t'Never colour'"
complete -c mlk -n "__fish_mlk_using_subcommand completions" -s q -l quiet -d 'Print only errors'
complete -c mlk -n "__fish_mlk_using_subcommand completions" -s v -l verbose -d 'Print more about what mlk does'
complete -c mlk -n "__fish_mlk_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mlk -n "__fish_mlk_using_subcommand completions" -s V -l version -d 'Print version'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "render" -d 'Render Kubernetes manifests for a pipeline on a stack'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "push" -d 'Store a pipeline\'s local inputs in the stack\'s artifact store, by content'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "plan" -d 'Show what would run: every step\'s kind, resources, GPUs, queue and object name'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "check" -d 'Validate a pipeline against a stack without writing anything'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "cache" -d 'List, explain and clear cache records'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "run" -d 'Run a pipeline: independent steps in parallel, cached steps skipped'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "status" -d 'Show a run\'s steps from its local record (latest by default), or from the cluster'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "delete" -d 'Stop a run going on here, and delete a cluster run\'s objects (by label)'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "logs" -d 'Print the logs of a run: stored ones of a local run, or its pods\' in the cluster'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "report" -d 'Write a run\'s HTML report: DAG, timeline, cache, outputs, lineage, log tails'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "lineage" -d 'Show where an output of a run came from: step, cache key, inputs, upstream runs'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "stack" -d 'A stack\'s admin objects: its tenant namespace, queues, flavors, priority classes'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "doctor" -d 'Check that a stack can run on its cluster: operators, GPUs, queues, permissions'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "init" -d 'Create a pipeline and its stacks to start from'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "man" -d 'Write manual pages (roff): the top page to stdout, or every page into DIR'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "schema" -d 'Print the JSON Schema of pipeline or stack files, for editors'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render push plan check cache run status delete logs report lineage stack doctor init man schema completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mlk -n "__fish_mlk_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "ls" -d 'List the records of the local cache store (.mlk/cache): pipeline, step, key, age, run, outputs'
complete -c mlk -n "__fish_mlk_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "explain" -d 'Print every component of a step\'s cache key with its digest, and the step\'s status'
complete -c mlk -n "__fish_mlk_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "clear" -d 'Remove records of the local cache store: all of them, or one step\'s'
complete -c mlk -n "__fish_mlk_using_subcommand help; and __fish_seen_subcommand_from stack" -f -a "render" -d 'Print (or write into DIR) the stack\'s admin objects, for the cluster admin to apply'
complete -c mlk -n "__fish_mlk_using_subcommand help; and __fish_seen_subcommand_from stack" -f -a "check" -d 'Check a stack file on its own (syntax, queues, GPU types and sharing settings)'

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
complete -c mlk -n "__fish_mlk_needs_command" -f -a "plan" -d 'Show what would run: every step\'s kind, resources, GPUs, queue and object name'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "check" -d 'Validate a pipeline against a stack without writing anything'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c mlk -n "__fish_mlk_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mlk -n "__fish_mlk_using_subcommand render" -s s -l stack -d 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path' -r
complete -c mlk -n "__fish_mlk_using_subcommand render" -s p -l param -d 'Override a pipeline parameter (repeatable)' -r
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
complete -c mlk -n "__fish_mlk_using_subcommand plan" -s s -l stack -d 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path' -r
complete -c mlk -n "__fish_mlk_using_subcommand plan" -s p -l param -d 'Override a pipeline parameter (repeatable)' -r
complete -c mlk -n "__fish_mlk_using_subcommand plan" -s o -l output -d 'Output format' -r -f -a "table\t'An aligned table'
json\t'The whole plan as JSON (stable field names; see the README)'"
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
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render plan check completions help" -f -a "render" -d 'Render Kubernetes manifests for a pipeline on a stack'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render plan check completions help" -f -a "plan" -d 'Show what would run: every step\'s kind, resources, GPUs, queue and object name'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render plan check completions help" -f -a "check" -d 'Validate a pipeline against a stack without writing anything'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render plan check completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c mlk -n "__fish_mlk_using_subcommand help; and not __fish_seen_subcommand_from render plan check completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'

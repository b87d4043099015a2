
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
            cand plan 'Show what would run: every step''s kind, resources, GPUs, queue and object name'
            cand check 'Validate a pipeline against a stack without writing anything'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mlk;render'= {
            cand -s 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand --stack 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand -p 'Override a pipeline parameter (repeatable)'
            cand --param 'Override a pipeline parameter (repeatable)'
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
        &'mlk;plan'= {
            cand -s 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand --stack 'Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path'
            cand -p 'Override a pipeline parameter (repeatable)'
            cand --param 'Override a pipeline parameter (repeatable)'
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
            cand plan 'Show what would run: every step''s kind, resources, GPUs, queue and object name'
            cand check 'Validate a pipeline against a stack without writing anything'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mlk;help;render'= {
        }
        &'mlk;help;plan'= {
        }
        &'mlk;help;check'= {
        }
        &'mlk;help;completions'= {
        }
        &'mlk;help;help'= {
        }
    ]
    $completions[$command]
}

import type { Command } from 'commander';
import { visibleTools } from '../../tools/index.js';
import { IMAGE_KINDS } from '../core/images.js';
import type { Lab } from '../core/lab.js';

/**
 * Shell completion. The scripts ask the program itself (`nslab __complete <words>`) what may come
 * next, so commands, options, tool names and the lab's own topology, daemon and host names are
 * always those of the installed version and store, with nothing to regenerate.
 */
const FILES = ':files';

const scripts: Record<string, string> = {
  bash: `# nslab completion for bash: eval "$(nslab completion bash)" (e.g. in ~/.bashrc)
_nslab() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" IFS=$'\\n' out
  out=$(nslab __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return
  if [[ "$out" == "${FILES}" ]]; then COMPREPLY=($(compgen -f -- "$cur")); else COMPREPLY=($(compgen -W "$out" -- "$cur")); fi
}
complete -o filenames -F _nslab nslab
`,
  zsh: `# nslab completion for zsh: eval "$(nslab completion zsh)" (e.g. in ~/.zshrc)
_nslab() {
  local -a words_before out
  words_before=("\${(@)words[2,CURRENT]}")
  out=("\${(@f)$(nslab __complete "\${words_before[@]}" 2>/dev/null)}")
  if [[ "\${out[1]}" == "${FILES}" ]]; then _files; else compadd -- "\${out[@]}"; fi
}
compdef _nslab nslab
`,
  fish: `# nslab completion for fish: nslab completion fish > ~/.config/fish/completions/nslab.fish
function __nslab_complete
  set -l out (nslab __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)
  if test "$out[1]" = "${FILES}"; __fish_complete_path (commandline -ct); else; printf '%s\\n' $out; end
end
complete -c nslab -f -a '(__nslab_complete)'
`,
};

/** What may follow `words` (the last one is the word being typed, possibly empty). */
export async function candidates(program: Command, lab: () => Lab, words: string[]): Promise<string[]> {
  const done = words.slice(0, -1);
  const typing = words.at(-1) ?? '';
  let cmd = program;
  const positional: string[] = [];
  for (const w of done) {
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub && positional.length === 0) cmd = sub;
    else if (!w.startsWith('-')) positional.push(w);
  }
  const pick = (list: string[]) => list.filter((c) => c.startsWith(typing));
  if (typing.startsWith('-')) return pick([...cmd.options.flatMap((o) => (o.long ? [o.long] : [])), '--help']);
  const visible = cmd.commands.filter((c) => !c.name().startsWith('__')).map((c) => c.name());
  if (visible.length) return pick(visible);
  const path = [cmd.parent?.name(), cmd.name()].join(' ');
  const store = async (kind: 'topologies' | 'daemons' | 'hosts') => Object.keys((await lab().store.read())[kind]);
  switch (path) {
    case 'nslab call':
      return positional.length === 0 ? pick(visibleTools(lab().config).map((t) => t.name)) : [];
    case 'topology up':
      return [FILES];
    case 'topology down':
    case 'topology status':
    case 'topology verify':
      return positional.length === 0 ? pick(await store('topologies')) : [];
    case 'topology scenario': {
      if (positional.length === 0) return pick(await store('topologies'));
      const t = (await lab().store.read()).topologies[positional[0] ?? ''];
      const scenarios = t && typeof t.spec.scenarios === 'object' && t.spec.scenarios ? Object.keys(t.spec.scenarios) : [];
      return positional.length === 1 ? pick(scenarios) : [];
    }
    case 'images build':
      return pick(['base', ...IMAGE_KINDS].filter((k) => !positional.includes(k)));
    case 'nslab completion':
      return positional.length === 0 ? pick(Object.keys(scripts)) : [];
    default:
      return [];
  }
}

export function completionCommands(program: Command, lab: () => Lab, fail: (message: string) => never): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) => {
      const script = scripts[shell];
      if (!script) fail(`no completion for '${shell}'; use bash, zsh or fish`);
      process.stdout.write(script);
    });
  program
    .command('__complete', { hidden: true })
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action(async () => {
      // The raw words: commander would eat "--" and options being typed.
      const words = process.argv.slice(process.argv.indexOf('__complete') + 1);
      try {
        process.stdout.write(`${(await candidates(program, lab, words.length ? words : [''])).join('\n')}\n`);
      } catch {
        // Completion never prints an error into the user's prompt.
      }
    });
}

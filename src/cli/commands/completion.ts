// git rollback completion bash|zsh: prints a shell completion script made from
// the commands' own declarations (commands, flags, choices). Point names come
// from the hidden `git rollback __complete points`, which reads them with the
// configured tag prefixes.
import type { CommandModule } from 'yargs';
import { plainVersionTags } from '../../app/adopt.js';
import { t } from '../../core/i18n.js';
import { sortNewestFirst } from '../../core/points.js';
import { commandInfo, type CommandInfo } from '../help.js';
import { open, type GlobalArgs } from '../common.js';
import { commands } from './index.js';

interface Args extends GlobalArgs {
  shell: string;
}

interface CompleteArgs extends GlobalArgs {
  what: string;
}

/** Commands whose positional argument is a point. */
const TAKES_POINT = new Set(['to', 'show', 'diff', 'delete', 'protect', 'unprotect', 'verify']);
/** Names every <point> accepts besides tags and ids. */
const SPECIAL_POINTS = ['latest', 'latest-backup', 'latest-release', 'previous-release', 'previous-prerelease'];
const GLOBAL_FLAGS = ['--config', '--lang', '--quiet', '-q', '--verbose', '--help', '-h', '--version'];

function flagsOf(c: CommandInfo): string[] {
  return c.options.filter((o) => !o.hidden).flatMap((o) => [`--${o.name}`, ...o.aliases.map((a) => (a.length === 1 ? `-${a}` : `--${a}`)), ...(o.type === 'boolean' && o.default === true ? [`--no-${o.name}`] : [])]);
}

function choicesOf(infos: CommandInfo[]): Map<string, string[]> {
  const out = new Map<string, string[]>([['--lang', ['en', 'zh-CN']]]);
  for (const c of infos) for (const o of c.options) if (o.choices) out.set(`--${o.name}`, o.choices.map(String));
  return out;
}

const q = (words: string[]) => words.join(' ');

export function bashScript(infos: CommandInfo[]): string {
  const names = infos.flatMap((c) => [c.name, ...c.aliases]).filter((n) => !n.startsWith('__'));
  const flagCases = infos.map((c) => `\t${[c.name, ...c.aliases].join('|')}) echo "${q(flagsOf(c))}" ;;`).join('\n');
  const choiceCases = [...choicesOf(infos)].map(([flag, values]) => `\t${flag}) echo "${q(values)}" ;;`).join('\n');
  const pointCommands = infos.filter((c) => TAKES_POINT.has(c.name)).flatMap((c) => [c.name, ...c.aliases]).join('|');
  return `# bash completion for git rollback (and git-rollback), made by: git rollback completion bash
# Load it now:      source <(git rollback completion bash)
# Or for good:      git rollback completion bash > ~/.local/share/bash-completion/completions/git-rollback
# With git's own bash completion loaded, "git rollback <TAB>" calls _git_rollback.

__git_rollback_commands="${q(names)}"

__git_rollback_flags () {
	case "$1" in
${flagCases}
	esac
}

__git_rollback_choices () {
	case "$1" in
${choiceCases}
	*) return 1 ;;
	esac
}

# Completes from a word list: the current word is $cur.
__git_rollback_reply () {
	local IFS=$' \\t\\n'
	COMPREPLY=($(compgen -W "$1" -- "$cur"))
}

_git_rollback () {
	# Called by git's completion with words, cword and cur set; the
	# subcommand is the first word after "rollback" that is not an option.
	local i start=1 sub="" prev="\${words[cword-1]}"
	for ((i=1; i < cword; i++)); do
		if [ "\${words[i]}" = rollback ] || [ "\${words[i]}" = git-rollback ]; then start=$((i+1)); break; fi
	done
	for ((i=start; i < cword; i++)); do
		case "\${words[i]}" in
		--config|--lang) i=$((i+1)) ;;
		-*) ;;
		*) sub="\${words[i]}"; break ;;
		esac
	done
	local values
	if values="$(__git_rollback_choices "$prev")"; then
		__git_rollback_reply "$values"
		return
	fi
	if [ "$prev" = --config ]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	if [ -z "$sub" ]; then
		case "$cur" in
		-*) __git_rollback_reply "${q(GLOBAL_FLAGS)}" ;;
		*) __git_rollback_reply "$__git_rollback_commands" ;;
		esac
		return
	fi
	case "$cur" in
	-*)
		__git_rollback_reply "$(__git_rollback_flags "$sub") ${q(GLOBAL_FLAGS)}"
		return
		;;
	esac
	case "$sub" in
	${pointCommands})
		__git_rollback_reply "$(git rollback __complete points 2>/dev/null)"
		;;
	adopt)
		__git_rollback_reply "$(git rollback __complete version-tags 2>/dev/null)"
		;;
	completion)
		__git_rollback_reply "bash zsh"
		;;
	esac
}

# "git-rollback <TAB>" without git: the same, with the words read here.
_git_rollback_standalone () {
	local cur words cword
	if declare -F _get_comp_words_by_ref >/dev/null; then
		_get_comp_words_by_ref -n =: cur words cword
	else
		words=("\${COMP_WORDS[@]}"); cword=$COMP_CWORD; cur="\${COMP_WORDS[COMP_CWORD]}"
	fi
	_git_rollback
}
complete -o bashdefault -o default -F _git_rollback_standalone git-rollback
`;
}

export function zshScript(infos: CommandInfo[]): string {
  const esc = (s: string) => s.replace(/'/g, "'\\''").replace(/:/g, '\\:').replace(/\[/g, '\\[').replace(/\]/g, '\\]');
  const commandsList = infos
    .filter((c) => !c.name.startsWith('__'))
    .flatMap((c) => [c.name, ...c.aliases].map((n) => `    '${n}:${esc(c.describe)}'`))
    .join('\n');
  const choices = choicesOf(infos);
  const perCommand = infos
    .map((c) => {
      const specs = c.options
        .filter((o) => !o.hidden)
        .map((o) => {
          const names = [`--${o.name}`, ...o.aliases.map((a) => (a.length === 1 ? `-${a}` : `--${a}`))];
          const value = o.type === 'boolean' ? '' : choices.has(`--${o.name}`) ? `:value:(${choices.get(`--${o.name}`)!.join(' ')})` : ':value:';
          const spec = names.length > 1 ? `'(${names.join(' ')})'{${names.join(',')}}'[${esc(o.describe ?? '')}]${value}'` : `'${names[0]}[${esc(o.describe ?? '')}]${value}'`;
          return `        ${spec}`;
        });
      if (TAKES_POINT.has(c.name)) specs.push(`        '*:point:__git_rollback_points'`);
      if (c.name === 'adopt') specs.push(`        '*:tag:__git_rollback_version_tags'`);
      if (c.name === 'completion') specs.push(`        '1:shell:(bash zsh)'`);
      return `    ${[c.name, ...c.aliases].join('|')})\n      _arguments -s \\\n${specs.join(' \\\n')}\n      ;;`;
    })
    .join('\n');
  return `#compdef git-rollback
# zsh completion for git rollback (and git-rollback), made by: git rollback completion zsh
# Load it now:   source <(git rollback completion zsh)
# Or for good:   git rollback completion zsh > "\${fpath[1]}/_git-rollback"
# zsh's git completion calls _git-rollback for "git rollback <TAB>".

__git_rollback_points () {
  local -a points
  points=(\${(f)"$(git rollback __complete points 2>/dev/null)"})
  compadd -a points
}

__git_rollback_version_tags () {
  local -a tags
  tags=(\${(f)"$(git rollback __complete version-tags 2>/dev/null)"})
  compadd -a tags
}

_git-rollback () {
  local curcontext="$curcontext" state line
  local -a subcommands
  subcommands=(
${commandsList}
  )
  _arguments -C \\
    '--config[config file]:file:_files' \\
    '--lang[language]:lang:(en zh-CN)' \\
    '(-q --quiet)'{-q,--quiet}'[no progress]' \\
    '--verbose[stack traces]' \\
    '1:command:->command' \\
    '*::arg:->args'
  case $state in
  command)
    _describe -t commands 'git rollback command' subcommands
    ;;
  args)
    case $line[1] in
${perCommand}
    esac
    ;;
  esac
}

compdef _git-rollback git-rollback
`;
}

export const completionCommand: CommandModule<object, Args> = {
  command: 'completion <shell>',
  get describe() {
    return t('cmd.completion');
  },
  builder: (y) =>
    y
      .positional('shell', { type: 'string', choices: ['bash', 'zsh'], demandOption: true, describe: t('completion.opt.shell') })
      .example('source <(git rollback completion bash)', t('completion.ex.now'))
      .example('git rollback completion bash > ~/.local/share/bash-completion/completions/git-rollback', t('completion.ex.save'))
      .example('git rollback completion zsh > "${fpath[1]}/_git-rollback"', t('completion.ex.zsh')),
  handler: (args) => {
    const infos = commands().map(commandInfo);
    process.stdout.write(args.shell === 'zsh' ? zshScript(infos) : bashScript(infos));
  },
};

/** `git rollback __complete points|version-tags`: words for the completion scripts, one per line. Hidden. */
export const completeCommand: CommandModule<object, CompleteArgs> = {
  command: '__complete <what>',
  describe: false,
  builder: (y) => y.positional('what', { type: 'string', choices: ['points', 'version-tags'], demandOption: true }),
  handler: async (args) => {
    const ctx = await open(args, { needCommit: false });
    if (args.what === 'version-tags') {
      process.stdout.write((await plainVersionTags(ctx)).map((x) => x + '\n').join(''));
      return;
    }
    const points = sortNewestFirst(await ctx.store.list({ notes: false }));
    const words = [...points.map((p) => p.tag), ...points.filter((p) => p.kind !== 'backup').map((p) => p.id), ...SPECIAL_POINTS];
    process.stdout.write([...new Set(words)].map((w) => w + '\n').join(''));
  },
};

export const completionCommands = [completionCommand, completeCommand];

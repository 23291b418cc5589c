// Catalog entries (English and Simplified Chinese) for the adapters (git, files, snapshots, crypto, journal, lock…): errors, hints, warnings, progress.
// Part of the one catalog in messages.ts; same rules: {name} parameters, { one, other } plurals.
import type { Entry } from './i18n.js';

export const adapterMessages = {
  // --- the journal (adapters/journal.ts) ----------------------------------------------
  'journal.unparsable': { en: 'the rollback journal {path} cannot be parsed', zh: '无法解析回滚作业日志 {path}' },
  'journal.unparsableHint': { en: 'it was written by a crashed run or edited by hand; inspect it, then move it away', zh: '它可能是崩溃的运行写下的，或被手工改过；请检查后把它移走' },
  'journal.schema': { en: 'the rollback journal {path} has schema {schema}; this git-rollback reads schema {reads}', zh: '回滚作业日志 {path} 的格式版本是 {schema}；此 git-rollback 只能读取版本 {reads}' },
  'journal.schemaHint': { en: 'finish or abort it with the git-rollback version that wrote it', zh: '请用写下它的那个 git-rollback 版本来继续或中止它' },

  // --- uncommitted work (adapters/worktree.ts) -----------------------------------------------
  'worktree.conflicts': { en: 'the working tree has unresolved conflicts ({paths})', zh: '工作区有未解决的冲突（{paths}）' },
  'worktree.clean': { en: 'clean', zh: '没有改动' },
  'worktree.newFiles': {
    en: { one: '{n} uncommitted file that were not there before: {paths}', other: '{n} uncommitted files that were not there before: {paths}' },
    zh: '有 {n} 个之前没有的未提交文件：{paths}',
  },
  'worktree.indexDiffers': { en: 'the index differs from before', zh: '暂存区与之前不同' },
  'worktree.trackedDiffer': { en: 'tracked files differ from before', zh: '被跟踪的文件与之前不同' },
  'worktree.untrackedDiffer': { en: 'untracked files differ from before', zh: '未跟踪的文件与之前不同' },
  'worktree.asBefore': { en: 'as before', zh: '与之前一致' },

  // --- health checks (adapters/health.ts) ------------------------------------------------
  'health.answered': { en: '{url} answered {status}', zh: '{url} 返回 {status}' },
  'health.exited': { en: '`{command}` exited {code}', zh: '`{command}` 退出码 {code}' },
  'health.signal': { en: '`{command}` exited on a signal', zh: '`{command}` 被信号终止' },
  // --- snapshots (adapters/snapshot.ts) ------------------------------------------------
  'snap.label.config': { en: 'config', zh: '配置文件' },
  'snap.label.paths': { en: 'paths', zh: '数据目录' },
  'snap.unmatched': { en: '{label} pattern "{pattern}" matched no file', zh: '{label}的模式 "{pattern}" 没有匹配到任何文件' },
  'snap.linkOutside': { en: '{label} file {path} is a symbolic link to {link}, outside the repository: not snapshotted (copy the file into the repository, or snapshot it where it lives)', zh: '{label}中的文件 {path} 是指向仓库之外 {link} 的符号链接：未放进快照（请把文件复制到仓库内，或在它所在的仓库做快照）' },
  'snap.linkKept': { en: '{label} file {path} is a symbolic link (to {link}): the link is kept, not the file it points to', zh: '{label}中的文件 {path} 是符号链接（指向 {link}）：保存的是链接本身，而不是它指向的文件' },
  'snap.noDumpStore': { en: 'internal: no dump store for databases', zh: '内部错误：没有用于数据库的转储存储' },
  'snap.captureSignal': { en: 'capture "{name}" exited with a signal', zh: '捕获 "{name}" 被信号终止' },
  'snap.captureExit': { en: 'capture "{name}" exited with {code}', zh: '捕获 "{name}" 的退出码为 {code}' },
  'snap.emptyDump': { en: 'the dump was empty, so no point was made', zh: '转储为空，因此没有创建回滚点' },
  'snap.emptyDumpHint': { en: 'check the dump command or the database', zh: '请检查转储命令或数据库' },
  'snap.refuseRestore': { en: 'refusing to restore {path}: {problem}', zh: '拒绝恢复 {path}：{problem}' },
  'snap.hostileHint': { en: 'nothing was changed; the point is damaged or hostile', zh: '没有做任何改动；该回滚点已损坏或含恶意内容' },
  'snap.objectMissing': { en: 'snapshot object for {path} is missing ({blob})', zh: '{path} 的快照对象缺失（{blob}）' },
  'snap.damagedHint': { en: 'the point is damaged; run git fsck, or roll back to another point', zh: '该回滚点已损坏；请运行 git fsck，或回滚到其他回滚点' },
  'snap.checksum': { en: 'snapshot content of {path} does not match its checksum', zh: '{path} 的快照内容与校验和不符' },
  'crypto.noIdentityFor': { en: '{what} is encrypted and no age identity is available', zh: '{what} 已加密，但没有可用的 age 身份' },
  'crypto.noIdentityHint': { en: 'export {env}="AGE-SECRET-KEY-1…" or set encryption.identity; nothing was changed', zh: 'export {env}="AGE-SECRET-KEY-1…"，或设置 encryption.identity；没有做任何改动' },
  // --- encryption (adapters/crypto.ts) -------------------------------------------------
  'crypto.noRecipients': { en: 'encryption: no recipients configured', zh: 'encryption：没有配置收件人（recipients）' },
  'crypto.noRecipientsHint': { en: 'add encryption.recipients (age1… public keys) to the config', zh: '请在配置中加入 encryption.recipients（age1… 公钥）' },
  'crypto.otherKeys': { en: 'the snapshot is encrypted for other keys: none of the identities in {where} opens it', zh: '快照是为其他密钥加密的：{where} 中的身份都无法解开它' },
  'crypto.otherKeysHint': { en: 'use an identity the point was encrypted for (docs/security.md, key rotation); nothing was changed', zh: '请使用加密该回滚点时所用的身份（见 docs/security.md 的密钥轮换）；没有做任何改动' },
  'crypto.cannotOpen': { en: 'an encrypted object cannot be opened: {error}', zh: '无法解开加密的对象：{error}' },
  'crypto.cannotOpenHint': { en: 'the stored object is damaged; run git fsck, or restore another point', zh: '存储的对象已损坏；请运行 git fsck，或恢复其他回滚点' },
  'crypto.noIdentity': { en: 'this snapshot is encrypted and no identity is available (looked in {where})', zh: '此快照已加密，但没有可用的身份（已查找：{where}）' },
  'crypto.noIdentityGive': { en: 'give the age identity: export {env}="AGE-SECRET-KEY-1…", or set encryption.identity to a key file outside the repository; nothing was changed', zh: '请提供 age 身份：export {env}="AGE-SECRET-KEY-1…"，或把 encryption.identity 设为仓库之外的密钥文件；没有做任何改动' },
  'crypto.configuredPlaces': { en: 'the configured places', zh: '配置的位置' },
  'crypto.cannotCheck': { en: 'encrypted files cannot be checked: {error}', zh: '无法检查加密的文件：{error}' },
  'crypto.identityInRepo': { en: 'encryption.identity: {path} is inside the repository', zh: 'encryption.identity：{path} 位于仓库之内' },
  'crypto.identityInRepoHint': { en: 'keep the key file outside the repository (e.g. ~/.config/git-rollback/age.key), so it is never committed or snapshotted', zh: '请把密钥文件放在仓库之外（例如 ~/.config/git-rollback/age.key），这样它永远不会被提交或放进快照' },
  'crypto.dedupKey': { en: '{env}: expected 64 hex digits', zh: '{env}：应为 64 位十六进制数' },
  'crypto.badRecipient': { en: 'encryption.recipients: {recipient}…: not an age recipient ({error})', zh: 'encryption.recipients：{recipient}…：不是 age 收件人（{error}）' },
  'crypto.badRecipientHint': { en: 'recipients look like age1… (age-keygen -y key.txt, or git rollback keygen)', zh: '收件人的格式是 age1…（用 age-keygen -y key.txt 或 git rollback keygen 生成）' },
} as const satisfies Record<string, Entry>;

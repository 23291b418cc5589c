// The pure parts of the MySQL/MariaDB engine: reading trigger headers and
// event statuses, moving definitions between schemas, and the line filter
// over dump streams (cut at every byte, it must write the same bytes).
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  DumpStatementFilter,
  dumpStatementName,
  eventStatus,
  retarget,
  triggerHeader,
  withEventStatus,
  type Def,
} from '../../src/adapters/engines/mysql-objects.js';

const trigger = (sql: string): Def => ({ kind: 'TRIGGER', name: 't', sql });

describe('triggerHeader / retarget', () => {
  it('finds a qualified name and table, and rewrites only those qualifiers', () => {
    const sql = "CREATE DEFINER=`a`@`%` TRIGGER shop.audit AFTER INSERT ON shop.orders FOR EACH ROW INSERT INTO shop.log VALUES ('shop.x')";
    const h = triggerHeader(sql);
    assert.equal(h.name, 'audit');
    assert.equal(h.table, 'orders');
    assert.deepEqual(h.qualifiers.map((q) => q.value), ['shop', 'shop']);
    assert.equal(
      retarget(trigger(sql), 'shop', 'shop_rb_tmp_1').sql,
      "CREATE DEFINER=`a`@`%` TRIGGER shop_rb_tmp_1.audit AFTER INSERT ON shop_rb_tmp_1.orders FOR EACH ROW INSERT INTO shop.log VALUES ('shop.x')",
    );
  });

  it('handles backticks, IF NOT EXISTS, comments, and names that need quoting', () => {
    const sql = 'CREATE DEFINER=`a`@`%` TRIGGER IF NOT EXISTS /* c */ `my-db`.`tr 1` BEFORE UPDATE ON `my-db`.`t``x` FOR EACH ROW SET NEW.a = 1';
    const h = triggerHeader(sql);
    assert.equal(h.name, 'tr 1');
    assert.equal(h.table, 't`x');
    assert.equal(retarget(trigger(sql), 'my-db', 'other').sql, sql.replaceAll('`my-db`', '`other`'));
    assert.equal(retarget(trigger(sql), 'other', 'x').sql, sql, 'qualifiers naming another schema stay');
    const plain = 'CREATE DEFINER=`a`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN\n\tSET NEW.a = 1;\nEND';
    assert.equal(retarget(trigger(plain), 'shop', 'x').sql, plain);
  });

  it('reads the header of a dump line', () => {
    const line = "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `x`.`tr` AFTER DELETE ON `x`.`t` FOR EACH ROW DELETE FROM y */;;\n";
    assert.equal(dumpStatementName(line), 'tr');
    assert.equal(triggerHeader(line).table, 't');
  });

  it('moves a view by its qualifiers only', () => {
    const view: Def = { kind: 'VIEW', name: 'v', sql: "CREATE ALGORITHM=UNDEFINED DEFINER=`a`@`%` SQL SECURITY DEFINER VIEW `s`.`v` AS select `s`.`t`.`a` AS `a`,'`s`.`t`' AS `b` from `s`.`t`" };
    assert.equal(retarget(view, 's', 'p').sql, "CREATE ALGORITHM=UNDEFINED DEFINER=`a`@`%` SQL SECURITY DEFINER VIEW `p`.`v` AS select `p`.`t`.`a` AS `a`,'`s`.`t`' AS `b` from `p`.`t`");
  });
});

describe('event status', () => {
  const sql = "CREATE DEFINER=`a`@`%` EVENT `e` ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE COMMENT 'x ON COMPLETION PRESERVE DISABLE' DO BEGIN SELECT 1; END";
  it('reads and replaces the status, not the comment', () => {
    assert.equal(eventStatus(sql), 'ENABLE');
    const off = withEventStatus(sql, 'DISABLE');
    assert.equal(eventStatus(off), 'DISABLE');
    assert.match(off, /COMMENT 'x ON COMPLETION PRESERVE DISABLE'/);
    assert.equal(withEventStatus(off, 'ENABLE'), sql);
    assert.equal(eventStatus(withEventStatus(sql, 'DISABLE ON SLAVE')), 'DISABLE ON SLAVE');
  });
});

describe('DumpStatementFilter', () => {
  const long = `INSERT INTO \`t\` VALUES ${Array.from({ length: 300 }, (_, i) => `(${i},'LOCK TABLES \`t\` WRITE;\\n/*!50003 CREATE*/')`).join(',')};\n`;
  const wrapper = [
    '/*!50003 SET @saved_cs_client      = @@character_set_client */ ;\n',
    '/*!50003 SET character_set_client  = utf8mb4 */ ;\n',
    "/*!50003 SET sql_mode              = 'NO_ENGINE_SUBSTITUTION' */ ;\n",
    'DELIMITER ;;\n',
  ].join('');
  const closing = ['DELIMITER ;\n', '/*!50003 SET sql_mode              = @saved_sql_mode */ ;\n', '/*!50003 SET character_set_client  = @saved_cs_client */ ;\n'].join('');
  const guard = `${wrapper}/*!50003 CREATE*/ /*!50017 DEFINER=\`a\`@\`%\`*/ /*!50003 TRIGGER \`_rb_guard_0_i\` BEFORE INSERT ON \`t\` FOR EACH ROW SIGNAL SQLSTATE '45000' */;;\n${closing}`;
  const dump = [
    '-- MariaDB dump\n',
    '/*M!999999\\- enable the sandbox mode */ \n',
    'LOCK TABLES `t` WRITE;\n',
    long,
    'UNLOCK TABLES;\n',
    guard,
    wrapper,
    'ALTER DATABASE `shop` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci ;;\n',
    '/*!50003 CREATE*/ /*!50017 DEFINER=`a`@`%`*/ /*!50003 TRIGGER shop.tr AFTER INSERT ON shop.t FOR EACH ROW BEGIN\n',
    "\tINSERT INTO log VALUES ('a;\tb');\n",
    'END */;;\n',
    'ALTER DATABASE `shop` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin ;;\n',
    closing,
    guard,
    'DELIMITER ;;\n',
    "/*!50106 CREATE*/ /*!50117 DEFINER=`a`@`%`*/ /*!50106 EVENT `ev` ON SCHEDULE EVERY 1 HOUR STARTS '2030-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE DO BEGIN\n",
    '  DELETE FROM t;\n',
    'END */ ;;\n',
    'DELIMITER ;\n',
    'Ünïcødé 周杰倫 last line without newline',
  ].join('');

  const filter = () =>
    new DumpStatementFilter({
      trigger: (s) => (triggerHeader(s).name.startsWith('_rb_guard') ? null : retarget(trigger(s), 'shop', 'stage').sql),
      event: (s) => withEventStatus(s, 'DISABLE'),
      dropLocks: true,
      renameSchema: { from: 'shop', to: 'stage' },
    });

  const expected = dump
    .replace('LOCK TABLES `t` WRITE;\n', '')
    .replace('UNLOCK TABLES;\n', '')
    .replaceAll(guard, '')
    .replaceAll('ALTER DATABASE `shop`', 'ALTER DATABASE `stage`')
    .replace('TRIGGER shop.tr AFTER INSERT ON shop.t', 'TRIGGER stage.tr AFTER INSERT ON stage.t')
    .replace('NOT PRESERVE ENABLE', 'NOT PRESERVE DISABLE');

  async function through(chunks: Buffer[]): Promise<string> {
    const out: Buffer[] = [];
    for await (const piece of Readable.from(chunks).pipe(filter())) out.push(piece as Buffer);
    return Buffer.concat(out).toString('utf8');
  }

  it('edits exactly the statements it should, whatever the chunking', async () => {
    const bytes = Buffer.from(dump, 'utf8');
    const whole = await through([bytes]);
    if (whole !== expected) {
      let i = 0;
      while (whole[i] === expected[i]) i++;
      assert.fail(`differs at ${i}: got ${JSON.stringify(whole.slice(i - 40, i + 120))}, expected ${JSON.stringify(expected.slice(i - 40, i + 120))}`);
    }
    for (let cut = 1; cut < bytes.length; cut += 7) {
      assert.equal(await through([bytes.subarray(0, cut), bytes.subarray(cut)]), expected, `cut at ${cut}`);
    }
    const small: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 3) small.push(bytes.subarray(at, at + 3));
    assert.equal(await through(small), expected, '3-byte chunks');
  });

  it('leaves every byte of a statement it does not change (no re-encoding)', async () => {
    const latin = Buffer.concat([Buffer.from('/*!50003 CREATE*/ /*!50017 DEFINER=`a`@`%`*/ /*!50003 TRIGGER tr AFTER INSERT ON t FOR EACH ROW SET @x = \''), Buffer.from([0xe9]), Buffer.from("' */;;\n")]);
    const out: Buffer[] = [];
    for await (const piece of Readable.from([latin]).pipe(filter())) out.push(piece as Buffer);
    assert.deepEqual(Buffer.concat(out), latin);
  });

  it('refuses a dump that alters another schema', async () => {
    await assert.rejects(through([Buffer.from('ALTER DATABASE `live` COLLATE utf8mb4_bin ;\n')]), /alters schema live/);
  });
});

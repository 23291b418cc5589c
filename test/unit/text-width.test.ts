// width(): the fast paths for ASCII and plain CJK text give what string-width gives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import stringWidth from 'string-width';
import { width } from '../../src/cli/text.js';

describe('width', () => {
  it('counts every character of the CJK fast path as string-width does', () => {
    const ranges: [number, number][] = [[0x20, 0x7e], [0x3000, 0x3029], [0x3030, 0x303e], [0x4e00, 0x9fff], [0xff01, 0xff60]];
    for (const [from, to] of ranges) {
      for (let c = from; c <= to; c++) {
        const ch = String.fromCharCode(c);
        assert.equal(width(ch), stringWidth(ch), `U+${c.toString(16)}`);
        assert.equal(width(`a${ch}中`), stringWidth(`a${ch}中`), `U+${c.toString(16)} in text`);
      }
    }
  });

  it('gives string-width\'s answer for mixed text', () => {
    for (const s of ['AI服务集成完成 #1', '回滚前的状态（自动）', 'Nightly 数据导入 — checked', '🚀 deploy to staging', 'e\u0301', '修复登录页面的错误', '', 'ｶﾀｶﾅ', '한국어', 'a\u200bb']) {
      assert.equal(width(s), stringWidth(s), s);
    }
  });
});

// The semver functions we use, imported one by one: `import semver from
// 'semver'` bundles the whole library (69 KB, ranges and all) into the main
// chunk that every command parses at start-up.
import clean from 'semver/functions/clean.js';
import compare from 'semver/functions/compare.js';
import diff from 'semver/functions/diff.js';
import eq from 'semver/functions/eq.js';
import inc from 'semver/functions/inc.js';
import lt from 'semver/functions/lt.js';
import major from 'semver/functions/major.js';
import prerelease from 'semver/functions/prerelease.js';
import rcompare from 'semver/functions/rcompare.js';
import valid from 'semver/functions/valid.js';

const semver = { clean, compare, diff, eq, inc, lt, major, prerelease, rcompare, valid };
export default semver;

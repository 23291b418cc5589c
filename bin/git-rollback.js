#!/usr/bin/env node
// Entry point installed as `git-rollback`, so `git rollback …` finds it on PATH.
import '../dist/git-rollback.mjs';

// The node's tools under one executable, as K3s's: skiff kubectl, crictl, ctr, check-config.
import type { Command as Program } from 'commander';

export function nodeCommands(_program: Program): void {}

// The process supervisor with real, tiny processes (sleep), its backoff timed by a manual clock.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import t from 'tap';
import { diesWithParent, type Exit, findProcesses, stopProcess, Supervisor } from '../../src/k8s/supervisor.js';
import { eventually } from '../helpers/eventually.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { processAlive } from '../helpers/run.js';

t.test('a process that is killed is started again; stop() ends it for good', async (t) => {
  const clock = new ManualClock();
  const exits: Exit[] = [];
  let spawned = 0;
  const supervisor = new Supervisor({
    spawn: () => {
      spawned++;
      return spawn('sleep', ['600'], { stdio: 'ignore' });
    },
    onExit: (exit) => exits.push(exit),
    clock,
  });
  t.teardown(() => supervisor.stop());
  supervisor.start();
  const first = supervisor.pid!;
  process.kill(first, 'SIGKILL');
  await eventually(() => clock.sleeping === 1, { what: 'the supervisor waiting to restart' });
  clock.advance(2000);
  const second = await eventually(() => (supervisor.pid !== first ? supervisor.pid : undefined), { what: 'a second process' });
  t.same(exits, [{ code: null, signal: 'SIGKILL', restartInMs: 2000 }], 'a quick death waits 2 s');
  await supervisor.stop();
  t.notOk(processAlive(second), 'stopped: no process left');
  t.equal(exits.length, 1, 'the stop is no exit to report');
  t.equal(spawned, 2);
});

t.test('quick deaths back off longer each time; a long run starts over; a stop while waiting starts nothing more', async (t) => {
  const clock = new ManualClock();
  const exits: Exit[] = [];
  const supervisor = new Supervisor({
    spawn: () => spawn('sleep', ['600'], { stdio: 'ignore' }),
    onExit: (exit) => exits.push(exit),
    clock,
  });
  t.teardown(() => supervisor.stop());
  supervisor.start();
  let pid = supervisor.pid!;
  for (const ranMs of [0, 0, 0, 0, 0, 0, 61_000, 0]) {
    clock.advance(ranMs);
    process.kill(pid, 'SIGKILL');
    await eventually(() => clock.sleeping === 1, { what: 'the supervisor waiting to restart' });
    clock.advance(exits.at(-1)!.restartInMs);
    pid = await eventually(() => (supervisor.pid !== pid ? supervisor.pid : undefined), { what: 'the next process' });
  }
  t.same(
    exits.map((e) => e.restartInMs),
    [2000, 4000, 8000, 16_000, 30_000, 30_000, 1000, 2000],
    'doubling up to 30 s; after a long run, 1 s',
  );
  process.kill(pid, 'SIGKILL');
  await eventually(() => clock.sleeping === 1, { what: 'the supervisor waiting to restart' });
  await supervisor.stop();
  clock.advance(60_000);
  t.equal(supervisor.pid, pid, 'no start after the stop');
});

t.test('a program that is not there is reported, not retried', async (t) => {
  const errors: Error[] = [];
  const supervisor = new Supervisor({ spawn: () => spawn('/nonexistent/program'), onError: (err) => errors.push(err) });
  supervisor.start();
  await eventually(() => errors.length === 1, { what: 'the spawn error' });
  t.match(errors[0]!.message, /ENOENT/);
  await supervisor.stop();
});

t.test('a child started through diesWithParent dies with its parent, even a SIGKILLed one', async (t) => {
  const marker = `skiff-test-orphan-${process.pid}-${Date.now()}`;
  // The parent: a shell that starts the child in the background and waits; the child outlives a plain parent.
  const [command, args] = diesWithParent(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', marker]);
  const script = `${command} ${args.map((a) => `'${a}'`).join(' ')} & wait`;
  const parent = spawn('sh', ['-c', script], { stdio: 'ignore' });
  const exited = new Promise((r) => parent.once('exit', r));
  // Once node runs (not setpriv before its exec), the parent-death signal is set.
  const child = await eventually(() => findProcesses((argv) => argv[0] === process.execPath && argv.at(-1) === marker)[0], {
    what: 'the child to run',
  });
  t.teardown(() => stopProcess(child, 0));
  parent.kill('SIGKILL');
  await exited;
  await eventually(() => findProcesses((argv) => argv.at(-1) === marker).length === 0, { what: 'the child to die with its parent' });
  t.pass('gone with its parent');
});

t.test('findProcesses and stopProcess: a process that is not our child, found by its command line and stopped', async (t) => {
  const marker = `skiff-test-leftover-${process.pid}-${Date.now()}`;
  // It ignores SIGTERM: killed once the grace is over.
  const p = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1e6)", marker], {
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  const exited = once(p, 'exit');
  await once(p.stdout!, 'data'); // its SIGTERM handler is in place: a SIGTERM before it would kill it at once
  const mine = (argv: string[]) => argv.at(-1) === marker;
  t.same(await eventually(() => findProcesses(mine)[0]), p.pid, 'found by its arguments');
  await stopProcess(p.pid!, 300);
  t.same((await exited)[1], 'SIGKILL', 'stopped (SIGKILL after the grace)');
  t.same(findProcesses(mine), []);
});

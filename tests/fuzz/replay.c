// SPDX-License-Identifier: GPL-2.0
/* Runs saved inputs through a fuzz target without libFuzzer, and times them. libFuzzer's own
 * -timeout and -report_slow_units count whole seconds, while every input of heapscope's parsers
 * must take under 100 ms; this is how `make fuzz` finds those that do not.
 *   replay_NAME [-t MS] [-v] FILE...
 * prints "SLOW <ms> FILE" for each input whose fastest of three runs takes more than MS (100)
 * milliseconds of CPU, -v every input's time; exits 1 if any was slow. CPU time, not wall time:
 * other work on the machine must not make an input look slow. Built with the same sanitizers
 * as the fuzz target, so a crashing input crashes here too. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double run_ms(const uint8_t *data, size_t size)
{
	double start = cpu_ms();

	LLVMFuzzerTestOneInput(data, size);
	return cpu_ms() - start;
}

/* The whole file in a buffer of exactly its size, so that ASan sees a read past the input. */
static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto cleanup;
	buf = malloc(n ? n : 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	*size = n;
cleanup:
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	double limit = 100, slowest = 0, ms;
	const char *slowest_path = "";
	int opt, nslow = 0, n = 0;
	bool verbose = false;

	while ((opt = getopt(argc, argv, "t:v")) != -1) {
		if (opt == 't') {
			limit = atof(optarg);
		} else if (opt == 'v') {
			verbose = true;
		} else {
			fprintf(stderr, "usage: %s [-t MS] [-v] FILE...\n", argv[0]);
			return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		size_t size = 0;
		uint8_t *data = read_file(argv[i], &size);

		if (!data) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		ms = run_ms(data, size);
		/* Only a slow first run is repeated: the fastest of three decides. */
		for (int k = 0; k < 2 && ms > limit; k++) {
			double again = run_ms(data, size);

			ms = again < ms ? again : ms;
		}
		if (verbose)
			printf("%.1f ms %s\n", ms, argv[i]);
		if (ms > limit) {
			printf("SLOW %.0f ms %s\n", ms, argv[i]);
			nslow++;
		}
		if (ms > slowest) {
			slowest = ms;
			slowest_path = argv[i];
		}
		free(data);
		n++;
	}
	printf("replayed %d inputs: %d over %.0f ms, slowest %.1f ms %s\n", n, nslow, limit, slowest,
	       slowest_path);
	return nslow ? 1 : 0;
}

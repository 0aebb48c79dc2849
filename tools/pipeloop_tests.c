/* The test binary: every test in tests/ registers itself; the runner in
 * check/ does the rest. */
#include <pipecheck.h>

int main(int argc, char **argv)
{
    return pc_main(argc, argv);
}

/* The test binary: every test in check/suite/ (the product suite) and in
 * tests/ (the bench's self-tests) registers itself; the runner in check/
 * does the rest. */
#include <pipecheck.h>

int main(int argc, char **argv)
{
    return pc_main(argc, argv);
}

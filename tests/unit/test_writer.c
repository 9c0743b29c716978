/* test_writer.c - placeholder (issue 3 in progress). */
#include "tap.h"
TAP_TEST(placeholder) { CHECK(1); }
int main(void) { return tap_main(); }

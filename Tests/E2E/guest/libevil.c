/* An unsigned library whose constructor announces itself if it is ever mapped and run. */
#include <stdio.h>
__attribute__((constructor)) static void announce(void) { printf("PAYLOAD-RAN (library)\n"); fflush(stdout); }
int signet_e2e_answer(void) { return 666; }

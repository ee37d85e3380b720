/* The attacker's code: if this line is ever printed under enforcement, the attack worked. */
#include <stdio.h>
int main(void) { printf("PAYLOAD-RAN\n"); return 0; }

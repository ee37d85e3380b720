/* The library of the rewritten-mapping case: mapped_value() compiles to `mov eax, 0x11223344; ret`,
 * the bytes the attacker looks for in the file and rewrites in place. */
int mapped_value(void) { return 0x11223344; }

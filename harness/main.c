/* placeholder: the CLI lands in the next commit */
int main(void) { return 0; }

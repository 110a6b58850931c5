// main() of the ap_fixed differential-test harness (see ap_fixed_harness.h).
#include <cstdio>

bool fxflow_dispatch(int id, char op, const char* tok);

int main() {
  static char line[8192], tok[8192];
  while (fgets(line, sizeof line, stdin)) {
    int id;
    char op;
    if (sscanf(line, "%d %c %8191s", &id, &op, tok) != 3 || (op != 'Q' && op != 'R')) {
      fprintf(stderr, "bad request line: %s", line);
      return 2;
    }
    if (!fxflow_dispatch(id, op, tok)) {
      fprintf(stderr, "unknown case %d\n", id);
      return 2;
    }
  }
  return 0;
}

/* store_exec.c - placeholder (issue 3 in progress). */
typedef int store_exec_placeholder;

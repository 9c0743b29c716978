/* store_op.c - placeholder (issue 3 in progress). */
typedef int store_op_placeholder;

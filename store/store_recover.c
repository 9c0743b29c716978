/* store_recover.c - placeholder (issue 3 in progress). */
typedef int store_recover_placeholder;

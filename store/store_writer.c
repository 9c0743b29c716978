/* store_writer.c - placeholder (issue 3 in progress). */
typedef int store_writer_placeholder;

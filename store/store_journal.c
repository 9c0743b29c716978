/* store_journal.c - placeholder (issue 3 in progress). */
typedef int store_journal_placeholder;

/* tenantctl_stats.c - placeholder (issue 3 in progress). */
typedef int tenantctl_stats_placeholder;

/*
 * tenantctl_usage.c - the usage texts of tenantctl: the whole tool's
 * (`tenantctl --help`) and each command's (`tenantctl COMMAND --help`), and
 * ctl_usage_print() that shows one.  The texts are the short form of
 * docs/tenantctl.md; keep the two in step.
 */
#include <stdio.h>
#include <string.h>

#include "tenantctl.h"

static const char ctl_usage_main[] =
    "usage: tenantctl COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "Administer a tenantfs store: an encrypted folder of tenant databases.\n"
    "\n"
    "commands:\n"
    "  init STORE [--passfile FILE]            create a new, empty store\n"
    "  tenant add STORE NAME --owner USER[:GROUP] [--mode MODE] [--passfile FILE]\n"
    "                                          add a tenant\n"
    "  tenant list STORE [--json] [--passfile FILE]\n"
    "                                          list the tenants, their owners,\n"
    "                                          modes, quotas and use\n"
    "  tenant chown STORE NAME USER[:GROUP]|:GROUP [--passfile FILE]\n"
    "                                          change a tenant's owner or group\n"
    "  tenant chmod STORE NAME MODE [--passfile FILE]\n"
    "                                          change a tenant's permissions\n"
    "  tenant set-quota STORE NAME [--bytes N[K|M|G|T]] [--records N]\n"
    "                   [--passfile FILE]      limit a tenant's space or records\n"
    "  tenant remove STORE NAME [--passfile FILE]\n"
    "                                          remove a tenant and all its data\n"
    "  passwd STORE [--passfile OLDFILE] [--new-passfile NEWFILE]\n"
    "                                          change the passphrase\n"
    "  stats STORE [--json]                    show what the journal is doing\n"
    "                                          (no passphrase; works while mounted)\n"
    "  check STORE [--passfile FILE]           authenticate every value; name what\n"
    "                                          is damaged (works while mounted)\n"
    "  snapshot create STORE NAME [--tenant T]... [--passfile FILE]\n"
    "                                          a hot, consistent snapshot\n"
    "  snapshot list STORE [--json] [--passfile FILE]\n"
    "  snapshot delete STORE NAME [--passfile FILE]\n"
    "  snapshot verify STORE NAME [--passfile FILE]\n"
    "  snapshot export STORE NAME DIR [--passfile FILE]\n"
    "  snapshot import STORE DIR [--passfile FILE]\n"
    "  snapshot restore STORE NAME [--tenant T]... [--passfile FILE]\n"
    "\n"
    "options:\n"
    "  -h, --help       show this help, or a command's (tenantctl COMMAND --help)\n"
    "  -V, --version    show the version\n"
    "\n"
    "The passphrase is the first line of the passfile (--keyfile is a synonym);\n"
    "without one it is asked on the terminal.  While a tenantfs daemon serves\n"
    "the store, tenant commands go to it through STORE/admin.sock (root or the\n"
    "daemon's user only), need no passphrase, and apply at once.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

#define CTL_SNAP_USAGE \
    "usage: tenantctl snapshot create STORE NAME [--tenant T]... [--passfile FILE]\n" \
    "       tenantctl snapshot list STORE [--json] [--passfile FILE]\n" \
    "       tenantctl snapshot delete STORE NAME [--passfile FILE]\n" \
    "       tenantctl snapshot verify STORE NAME [--passfile FILE]\n" \
    "       tenantctl snapshot export STORE NAME DIR [--passfile FILE]\n" \
    "       tenantctl snapshot import STORE DIR [--passfile FILE]\n" \
    "       tenantctl snapshot restore STORE NAME [--tenant T]... [--passfile FILE]\n" \
    "\n" \
    "Snapshots are copies of tenants, each consistent to one journal\n" \
    "position, kept encrypted in STORE/snapshots/NAME.  `create` works while\n" \
    "the store is mounted and under load: the daemon checkpoints (the only\n" \
    "time writers wait), then each tenant (all, or those named with\n" \
    "--tenant) is copied without stopping them; a progress bar shows on a\n" \
    "terminal.  NAME is 1 to 64 of A-Z a-z 0-9 . _ -.  `list` shows name,\n" \
    "time, size and tenants; `verify` authenticates every value of the\n" \
    "snapshot and names what is damaged (exit 1); `export` copies a\n" \
    "snapshot into a new folder DIR (still encrypted) and `import` brings\n" \
    "such a folder back into the store it came from.  Snapshots keep\n" \
    "opening after `tenantctl passwd`.  `restore` replaces the content of\n" \
    "the tenants named (all of the snapshot's without --tenant: the whole\n" \
    "store) with their copies in the snapshot; while the store is mounted\n" \
    "the daemon does it online, tenant by tenant (files of the tenant open\n" \
    "before then fail with ESTALE).  See docs/snapshots.md.\n"

static const struct ctl_usage {
    const char *cmd;
    const char *text;
} ctl_usages[] = {
    { "snapshot", CTL_SNAP_USAGE },
    { "snapshot create", CTL_SNAP_USAGE },
    { "snapshot list", CTL_SNAP_USAGE },
    { "snapshot delete", CTL_SNAP_USAGE },
    { "snapshot verify", CTL_SNAP_USAGE },
    { "snapshot export", CTL_SNAP_USAGE },
    { "snapshot import", CTL_SNAP_USAGE },
    { "snapshot restore", CTL_SNAP_USAGE },
    { "check",
      "usage: tenantctl check STORE [--passfile FILE]\n"
      "\n"
      "Authenticate every value of STORE: each tenant's registry record, every\n"
      "folder entry, record, content block and extended attribute, and every\n"
      "journal entry.  Prints one line per problem, naming the tenant and the\n"
      "record (its path, or its inode number when no folder names it), then a\n"
      "summary line.  Read-only; works while the store is mounted (it checks\n"
      "what is on disk).  A torn last journal write left by a crash is noted,\n"
      "not counted as damage: the next mount discards it.\n"
      "\n"
      "Exit status: 0 nothing damaged, 1 damage found (or the store could not\n"
      "be opened), 2 usage error.\n" },
    { "stats",
      "usage: tenantctl stats STORE [--json]\n"
      "\n"
      "Show what the journal of STORE is doing: whether a tenantfs daemon\n"
      "serves it (its pid), the appended, flushed and applied positions, the\n"
      "depth (entries and bytes not yet in the databases), segments, flushes\n"
      "and how many entries each made durable (group commit), fsyncs,\n"
      "checkpoints, and what the last recovery replayed and discarded.  Needs\n"
      "no passphrase and works while the store is mounted.\n"
      "\n"
      "  --json       one JSON object instead of lines\n"
      "  -h, --help   show this help\n" },
    { "init",
      "usage: tenantctl init STORE [--passfile FILE]\n"
      "\n"
      "Create a new, empty, encrypted store in folder STORE (created if\n"
      "missing; an existing folder must be empty).  Without --passfile, the\n"
      "new passphrase is asked twice on the terminal.\n"
      "\n"
      "  --passfile FILE, --keyfile FILE   the passphrase is FILE's first line\n"
      "  -h, --help                        show this help\n" },
    { "passwd",
      "usage: tenantctl passwd STORE [--passfile OLDFILE] [--new-passfile NEWFILE]\n"
      "\n"
      "Change the store's passphrase.  Only the master key is rewrapped; no\n"
      "data is re-encrypted.  Passphrases not given by file are asked on the\n"
      "terminal, the new one twice.\n"
      "\n"
      "  --passfile FILE, --keyfile FILE          the current passphrase\n"
      "  --new-passfile FILE, --new-keyfile FILE  the new passphrase\n"
      "  -h, --help                               show this help\n" },
    { "tenant",
      "usage: tenantctl tenant add STORE NAME --owner USER[:GROUP] [--mode MODE]\n"
      "       tenantctl tenant list STORE [--json]\n"
      "       tenantctl tenant chown STORE NAME USER[:GROUP]|:GROUP\n"
      "       tenantctl tenant chmod STORE NAME MODE\n"
      "       tenantctl tenant set-quota STORE NAME [--bytes N[K|M|G|T]] [--records N]\n"
      "       tenantctl tenant remove STORE NAME\n"
      "       (each also takes --passfile FILE)\n"
      "\n"
      "Administer the tenants of a store.  Each tenant is a top-level folder of\n"
      "the mounted filesystem.  While a tenantfs daemon serves the store, the\n"
      "commands are sent to it (no passphrase needed) and apply at once.\n"
      "See tenantctl tenant SUBCOMMAND --help.\n" },
    { "tenant add",
      "usage: tenantctl tenant add STORE NAME --owner USER[:GROUP] [--mode MODE]\n"
      "                        [--passfile FILE]\n"
      "\n"
      "Add tenant NAME, an empty folder owned by USER and GROUP (names or\n"
      "numbers; GROUP defaults to USER's primary group) with permissions MODE\n"
      "(octal, at most 07777, default 0750).\n"
      "\n"
      "  --owner USER[:GROUP]              owner of the tenant's folder\n"
      "  --mode MODE                       its permissions (default 0750)\n"
      "  --passfile FILE, --keyfile FILE   the passphrase is FILE's first line\n"
      "                                    (not needed while mounted)\n"
      "  -h, --help                        show this help\n" },
    { "tenant list",
      "usage: tenantctl tenant list STORE [--json] [--passfile FILE]\n"
      "\n"
      "List the tenants in id order: a header line, then one line per tenant\n"
      "with NAME ID OWNER GROUP MODE USED QUOTA RECORDS RECORD-QUOTA (sizes in\n"
      "powers of 1024, '-' for no quota).\n"
      "\n"
      "  --json                            one JSON array of objects instead\n"
      "  --passfile FILE, --keyfile FILE   the passphrase is FILE's first line\n"
      "                                    (not needed while mounted)\n"
      "  -h, --help                        show this help\n" },
    { "tenant chown",
      "usage: tenantctl tenant chown STORE NAME USER[:GROUP]|:GROUP [--passfile FILE]\n"
      "\n"
      "Change the owner and/or group of tenant NAME's folder, as chown(1) does:\n"
      "USER changes the owner only, USER:GROUP both, USER: the owner and the\n"
      "group to USER's primary group, :GROUP the group only.  Names are looked\n"
      "up first, then numbers.\n"
      "\n"
      "  --passfile FILE, --keyfile FILE   the passphrase is FILE's first line\n"
      "                                    (not needed while mounted)\n"
      "  -h, --help                        show this help\n" },
    { "tenant chmod",
      "usage: tenantctl tenant chmod STORE NAME MODE [--passfile FILE]\n"
      "\n"
      "Set the permissions of tenant NAME's folder to MODE (octal, at most\n"
      "07777).\n"
      "\n"
      "  --passfile FILE, --keyfile FILE   the passphrase is FILE's first line\n"
      "                                    (not needed while mounted)\n"
      "  -h, --help                        show this help\n" },
    { "tenant set-quota",
      "usage: tenantctl tenant set-quota STORE NAME [--bytes N[K|M|G|T]] [--records N]\n"
      "                              [--passfile FILE]\n"
      "\n"
      "Limit the space (content bytes) or the number of records (files, folders,\n"
      "links) of tenant NAME; at least one of the two.  0 or 'none' removes the\n"
      "limit.  K, M, G, T are powers of 1024.  A limit below the current use is\n"
      "accepted: what would add to the use then fails with EDQUOT.\n"
      "\n"
      "  --bytes N[K|M|G|T]                byte quota\n"
      "  --records N                       record quota\n"
      "  --passfile FILE, --keyfile FILE   the passphrase is FILE's first line\n"
      "                                    (not needed while mounted)\n"
      "  -h, --help                        show this help\n" },
    { "tenant remove",
      "usage: tenantctl tenant remove STORE NAME [--passfile FILE]\n"
      "\n"
      "Remove tenant NAME and all its records.  This cannot be undone (except\n"
      "from a snapshot).  While mounted, refused as long as a file of the tenant\n"
      "is open.\n"
      "\n"
      "  --passfile FILE, --keyfile FILE   the passphrase is FILE's first line\n"
      "                                    (not needed while mounted)\n"
      "  -h, --help                        show this help\n" },
};

/* Print the usage of `cmd` ("init", "tenant add", ...; NULL for the whole
 * tool) to `f`. */
void ctl_usage_print(FILE *f, const char *cmd)
{
    if (cmd) {
        for (size_t i = 0; i < sizeof ctl_usages / sizeof ctl_usages[0]; i++) {
            if (strcmp(ctl_usages[i].cmd, cmd) == 0) {
                fputs(ctl_usages[i].text, f);
                return;
            }
        }
    }
    fputs(ctl_usage_main, f);
}


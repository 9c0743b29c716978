/*
 * admin.h - the admin socket protocol between tenantctl and a running
 * tenantfs daemon (STORE/admin.sock).  STUB: to be written.
 */
#ifndef TENANTFS_ADMIN_H
#define TENANTFS_ADMIN_H
#endif

/* The event oom_watch.bpf.c sends over its ring buffer; shared by the BPF
 * program and the loader (libbpf-tools habit: X.h beside X.bpf.c). */
#ifndef RAMFLOW_BPF_OOM_WATCH_H
#define RAMFLOW_BPF_OOM_WATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define OOM_WATCH_COMM_LEN 16
/* Pid namespace levels reported per victim: host (0) up to 3 nested levels. */
#define OOM_WATCH_MAX_PID_LEVELS 4

struct oom_watch_upid {
	__u32 nr;      /* the victim's tgid in that namespace */
	__u32 ns_inum; /* inode of that pid namespace, as /proc/self/ns/pid shows */
};

struct oom_watch_event {
	__u64 start_boottime_ns; /* same clock as /proc/PID/stat starttime */
	__u64 memcg_id;          /* memory cgroup id == its directory's inode */
	__u64 total_vm_pages;
	__u64 anon_rss_pages;
	__u64 file_rss_pages;
	__u64 shmem_rss_pages;
	__u32 host_tgid;
	__u32 uid;
	__u32 pid_level; /* the victim's own pid namespace level */
	__u32 nr_levels; /* valid entries in upid[] (levels 0..nr_levels-1) */
	struct oom_watch_upid upid[OOM_WATCH_MAX_PID_LEVELS];
	char comm[OOM_WATCH_COMM_LEN];
};

#endif

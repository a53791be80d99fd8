// SPDX-License-Identifier: GPL-2.0
/* Reports every OOM-killer victim: tp_btf/mark_victim fires once per killed
 * process, after the victim is chosen and before it dies. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "oom_watch.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* A constant index per counter: the verifier rejects rss_stat[variable]. */
static __always_inline __u64 rss_pages(struct mm_struct *mm, int member)
{
	s64 count = 0;

	switch (member) {
	case MM_ANONPAGES:
		count = BPF_CORE_READ(mm, rss_stat[MM_ANONPAGES].count);
		break;
	case MM_FILEPAGES:
		count = BPF_CORE_READ(mm, rss_stat[MM_FILEPAGES].count);
		break;
	case MM_SHMEMPAGES:
		count = BPF_CORE_READ(mm, rss_stat[MM_SHMEMPAGES].count);
		break;
	}
	return count > 0 ? count : 0;
}

static __always_inline __u64 memcg_id(struct task_struct *task)
{
	int memory = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct cgroup *cgrp = BPF_CORE_READ(task, cgroups, subsys[memory], cgroup);

	if (!cgrp)
		cgrp = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	return BPF_CORE_READ(cgrp, kn, id);
}

SEC("tp_btf/mark_victim")
int BPF_PROG(oom_mark_victim, struct task_struct *task, uid_t uid)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	struct pid *tgid = BPF_CORE_READ(leader, thread_pid);
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	struct oom_watch_event *e;
	__u32 level;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	level = BPF_CORE_READ(tgid, level);
	e->pid_level = level;
	e->nr_levels = 0;
	for (__u32 i = 0; i < OOM_WATCH_MAX_PID_LEVELS; i++) {
		if (i > level)
			break;
		e->upid[i].nr = BPF_CORE_READ(tgid, numbers[i].nr);
		e->upid[i].ns_inum = BPF_CORE_READ(tgid, numbers[i].ns, ns.inum);
		e->nr_levels = i + 1;
	}
	e->host_tgid = BPF_CORE_READ(task, tgid);
	e->uid = uid;
	e->start_boottime_ns = BPF_CORE_READ(leader, start_boottime);
	e->memcg_id = memcg_id(task);
	e->total_vm_pages = mm ? BPF_CORE_READ(mm, total_vm) : 0;
	e->anon_rss_pages = mm ? rss_pages(mm, MM_ANONPAGES) : 0;
	e->file_rss_pages = mm ? rss_pages(mm, MM_FILEPAGES) : 0;
	e->shmem_rss_pages = mm ? rss_pages(mm, MM_SHMEMPAGES) : 0;
	BPF_CORE_READ_STR_INTO(&e->comm, leader, comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

"""Platform logs, their replay and their appraisal (docs/formats.md sections 11-12).

    parse_boot_log(bytes)  -> BootLog   TCG PC Client crypto-agile (or SHA-1 legacy) log, UNTRUSTED  (logs)
    parse_ima_list(bytes)  -> IMAList   binary_runtime_measurements, UNTRUSTED                       (logs)
    replay_boot(log, pcrs) -> ReplayedBoot | [ReplayFailure]   stage 2                               (replay)
    replay_ima(list, pcrs) -> ReplayedIMA  | [ReplayFailure]   stage 2                               (replay)
    PlatformReference.make(boot, RuntimePolicy.parse(json), required): the policy's reference values (reference)
    appraise_platform(boot, ima, pcrs, reference) -> [PlatformFailure]  stage 3                       (appraisal)

Only replay makes the logs' digests count; event data and paths stay what the host wrote.
"""
from .logs import (  # noqa: F401
    AGGREGATE_PCRS,
    BANKS,
    BOOT_AGGREGATE,
    BOOT_PCRS,
    BootEvent,
    BootLog,
    EV_NO_ACTION,
    IMAContent,
    IMAEntry,
    IMAList,
    IMA_PCR,
    MAX_ALGORITHMS,
    MAX_APPRAISAL_FAILURES,
    MAX_BOOT_EVENTS,
    MAX_BOOT_EVENT_BYTES,
    MAX_BOOT_LOG_BYTES,
    MAX_BOOT_REFERENCE_BYTES,
    MAX_EXCLUDES,
    MAX_IMA_BYTES,
    MAX_IMA_ENTRIES,
    MAX_POLICY_PATHS,
    MAX_RUNTIME_POLICY_BYTES,
    MAX_TEMPLATE_DATA,
    MAX_TEMPLATE_FAILURES,
    MAX_TEMPLATE_NAME,
    PlatformParseError,
    WORKER_IMA_PATH,
    parse_boot_log,
    parse_ima_list,
)
from .replay import (  # noqa: F401
    ReplayFailure,
    ReplayFailureKind,
    ReplayedBoot,
    ReplayedIMA,
    replay_boot,
    replay_ima,
)
from .reference import (  # noqa: F401
    PlatformReference,
    RuntimePolicy,
    parse_boot_reference,
)
from .appraisal import (  # noqa: F401
    AppraisalFailureKind,
    PlatformFailure,
    appraise_boot_aggregate,
    appraise_platform,
    expected_boot_aggregate,
)

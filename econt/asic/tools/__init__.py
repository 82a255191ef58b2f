"""One package per tool the kit drives (SiliconCompiler-style): a task module and its scripts beside it."""

"""When each feed is polled: the scheduler, its pure backoff decisions and the ``newsbot poll`` process."""

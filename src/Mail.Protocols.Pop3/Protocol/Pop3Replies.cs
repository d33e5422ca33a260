namespace Mail.Protocols.Pop3.Protocol;

internal static class Pop3Replies
{
    public static ReadOnlySpan<byte> ShuttingDown => "-ERR [SYS/TEMP] Server shutting down\r\n"u8;
}

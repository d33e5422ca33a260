namespace Mail.Protocols.Smtp.Protocol;

/// <summary>
/// RFC 5322 §3.3 date-time written as UTF-8 octets ("Sun, 06 Dec 2026 22:14:00 +0100"), for trace fields written straight
/// into a message: no string per message.
/// </summary>
internal static class MessageDate
{
    /// <summary>The length of every date-time this writes (two-digit day, four-digit year, "+hhmm").</summary>
    public const int Length = 31;

    private static ReadOnlySpan<byte> Days => "SunMonTueWedThuFriSat"u8;
    private static ReadOnlySpan<byte> Months => "JanFebMarAprMayJunJulAugSepOctNovDec"u8;

    /// <summary>Writes <paramref name="date"/> in its own offset into the first <see cref="Length"/> octets of <paramref name="destination"/>.</summary>
    public static void Write(DateTimeOffset date, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Length, nameof(destination));
        var time = date.DateTime;
        Days.Slice((int)time.DayOfWeek * 3, 3).CopyTo(destination);
        ", "u8.CopyTo(destination[3..]);
        TwoDigits(time.Day, destination[5..]);
        destination[7] = (byte)' ';
        Months.Slice((time.Month - 1) * 3, 3).CopyTo(destination[8..]);
        destination[11] = (byte)' ';
        TwoDigits(time.Year / 100, destination[12..]);
        TwoDigits(time.Year % 100, destination[14..]);
        destination[16] = (byte)' ';
        TwoDigits(time.Hour, destination[17..]);
        destination[19] = (byte)':';
        TwoDigits(time.Minute, destination[20..]);
        destination[22] = (byte)':';
        TwoDigits(time.Second, destination[23..]);
        destination[25] = (byte)' ';
        var offset = (int)date.Offset.TotalMinutes;
        destination[26] = offset < 0 ? (byte)'-' : (byte)'+';
        offset = Math.Abs(offset);
        TwoDigits(offset / 60, destination[27..]);
        TwoDigits(offset % 60, destination[29..]);
    }

    private static void TwoDigits(int value, Span<byte> destination)
    {
        destination[0] = (byte)('0' + value / 10);
        destination[1] = (byte)('0' + value % 10);
    }
}

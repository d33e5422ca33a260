using System.Globalization;
using System.Text;
using Mail.Protocols.Smtp.Protocol;
using MimeKit.Utils;

namespace Mail.Protocols.Smtp.Tests;

public sealed class MessageDateTests
{
    [Theory]
    [InlineData("2026-12-06T22:14:03+00:00", "Sun, 06 Dec 2026 22:14:03 +0000")]
    [InlineData("2026-01-01T00:00:00+01:00", "Thu, 01 Jan 2026 00:00:00 +0100")]
    [InlineData("1999-07-31T09:05:59-09:30", "Sat, 31 Jul 1999 09:05:59 -0930")]
    [InlineData("9999-12-31T09:59:59-14:00", "Fri, 31 Dec 9999 09:59:59 -1400")]
    [InlineData("0001-01-01T14:00:00+14:00", "Mon, 01 Jan 0001 14:00:00 +1400")]
    public void A_date_is_written_as_rfc_5322_date_time_in_its_own_offset(string iso, string expected) =>
        Assert.Equal(expected, Written(iso));

    [Theory]
    [InlineData("2026-12-06T22:14:03+00:00")]
    [InlineData("2026-06-30T23:59:59+05:45")]
    [InlineData("1999-07-31T09:05:59-09:30")]
    public void A_reader_of_the_message_gets_the_same_instant_and_offset_back(string iso)
    {
        var date = DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture);

        Assert.True(DateUtils.TryParse(Written(iso), out var parsed));

        Assert.Equal(date, parsed);
        Assert.Equal(date.Offset, parsed.Offset);
    }

    private static string Written(string iso)
    {
        Span<byte> buffer = stackalloc byte[MessageDate.Length];
        MessageDate.Write(DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture), buffer);
        return Encoding.ASCII.GetString(buffer);
    }
}

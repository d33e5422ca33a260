using System.Text;
using Mail.Protocols.Maildir.Layout;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Fuzz.Targets.Storage;

/// <summary>
/// A file name found in new/ or cur/ (<see cref="MaildirFileName.TryParse"/>). Properties: nothing throws; a name taken has a
/// base that is a non-empty prefix without ':' , white space or control characters, and keyword letters a–z only (the keyword
/// file indexes an array with them); a name without an info part is its own base with no flags; the cur/ name written back
/// (<see cref="MaildirFileName.ToCurName"/>) parses to the same base, flags, P flag and letters (in ASCII order), and writing
/// that again gives the same name; the size fields are absent or not negative.
/// </summary>
internal sealed class MaildirFileNameTarget : IFuzzTarget
{
    public string Name => "MaildirFileName";

    public void Run(ReadOnlySpan<byte> input)
    {
        var fileName = Encoding.UTF8.GetString(input);
        if (!MaildirFileName.TryParse(fileName, out var name))
        {
            return;
        }

        Fuzz.Check(name.BaseName.Length > 0 && fileName.StartsWith(name.BaseName, StringComparison.Ordinal), "the base is not a non-empty prefix of the name");
        Fuzz.Check(!name.BaseName.Contains(':', StringComparison.Ordinal), "the base holds ':'");
        Fuzz.Check(!name.BaseName.Any(c => c <= ' ' || char.IsControl(c) || char.IsWhiteSpace(c)), "the base holds white space or a control character");
        Fuzz.Check(name.KeywordLetters.All(c => c is >= 'a' and <= 'z'), $"keyword letters \"{name.KeywordLetters}\" are not a-z");
        Fuzz.Check(((int)name.Flags & ~0x1F) == 0, $"undefined flags {(int)name.Flags}");
        if (!fileName.Contains(':', StringComparison.Ordinal))
        {
            Fuzz.Check(name.BaseName == fileName && name.Flags == MessageFlags.None && name.KeywordLetters.Length == 0 && !name.Passed,
                "a name without an info part is not its own base without flags");
        }

        var cur = name.ToCurName();
        Fuzz.Check(MaildirFileName.TryParse(cur, out var again), $"the cur/ name \"{cur}\" does not parse");
        Fuzz.Equal(name.BaseName, again.BaseName, "base after the round trip");
        Fuzz.Equal(name.Flags, again.Flags, "flags after the round trip");
        Fuzz.Equal(name.Passed, again.Passed, "P after the round trip");
        Fuzz.Equal(Sorted(name.KeywordLetters), again.KeywordLetters, "keyword letters after the round trip");
        Fuzz.Equal(cur, again.ToCurName(), "the cur/ name written twice");

        Fuzz.Check(name.SizeFromName() is null or >= 0, "a negative ,S= size");
        Fuzz.Check(name.WireSizeFromName() is null or >= 0, "a negative ,W= size");
    }

    private static string Sorted(string letters)
    {
        var chars = letters.ToCharArray();
        Array.Sort(chars);
        return new string(chars);
    }
}

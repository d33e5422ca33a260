using System.Globalization;

namespace Mail.Protocols.Imap.Search.TextIndex;

/// <summary>
/// Which characters make words for the word index: letters, marks, digits and other numbers, surrogates (a character beyond
/// the BMP is a pair of them) and characters not yet assigned; everything else (spaces, punctuation, symbols, controls)
/// separates words.
/// </summary>
/// <remarks>
/// The index is exact because of one property: two characters that SEARCH's case-insensitive comparison
/// (<see cref="StringComparison.OrdinalIgnoreCase"/>) takes as equal are both word characters or both separators. Then every
/// occurrence of a needle made of word characters only lies inside one maximal run of word characters of the text, so the
/// needle is in the text exactly when it is in one of its words. Case pairs are letters with letters (and U+0345, a mark,
/// with U+0399, a letter; circled letters, symbols, with symbols), which the categories above keep together; a test checks it
/// for every character of the BMP.
/// </remarks>
internal static class WordChars
{
    private static readonly bool[] s_ascii = BuildAscii();

    /// <summary>Whether <paramref name="c"/> is part of words.</summary>
    public static bool IsWord(char c) => c < 128 ? s_ascii[c] : IsWordCategory(char.GetUnicodeCategory(c));

    /// <summary>Whether <paramref name="text"/> holds a separator (then it may span words, and index answers must be verified).</summary>
    public static bool HasSeparator(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!IsWord(c))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The maximal runs of word characters of <paramref name="text"/>.</summary>
    public static List<string> Split(string text)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var word = i < text.Length && IsWord(text[i]);
            if (word && start < 0)
            {
                start = i;
            }
            else if (!word && start >= 0)
            {
                words.Add(text[start..i]);
                start = -1;
            }
        }
        return words;
    }

    private static bool IsWordCategory(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => true,
        UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => true,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => true,
        UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned or UnicodeCategory.PrivateUse => true,
        _ => false,
    };

    private static bool[] BuildAscii()
    {
        var table = new bool[128];
        for (var c = 0; c < 128; c++)
        {
            table[c] = char.IsAsciiLetterOrDigit((char)c);
        }
        return table;
    }
}

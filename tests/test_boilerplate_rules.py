"""The rule groups of this round: each removes its lines and keeps prose that looks alike."""

import time

import pytest

from transforms.clean.rules import DEFAULT_RULES
from transforms.clean.rules import RulesFileError
from transforms.clean.rules import apply_rules
from transforms.clean.rules import parse_rules

OPENING = 'A real opening paragraph about the news.'


@pytest.mark.parametrize('rule, paragraph', [
    ('embedded_post', '— Jane Doe (@janedoe) May 3, 2023'),
    ('embedded_post', 'Polls close at 8pm. Go vote! pic.twitter.com/AbC123xyz '
                      '— Jane Doe (@janedoe) November 8, 2022'),
    ('embedded_post', 'We are live from the launch pad. — NASA (@NASA) 3 June 2024'),
    ('embedded_post', 'A post shared by NASA (@nasa) on Jun 1, 2023 at 10:00am PDT'),
    ('embedded_post', 'View this post on Instagram'),
    ('photo_credit', 'Firefighters battle the blaze near Athens. (Photo by Jane Doe/Getty Images)'),
    ('photo_credit', 'Police officers stand guard outside the court. (AP Photo/John Smith)'),
    ('photo_credit', 'Photograph: Jane Doe/Reuters'),
    ('photo_credit', 'FILE PHOTO: A logo is seen at the headquarters in Paris, France, '
                     'May 3, 2023. REUTERS/John Smith/File Photo'),
    ('photo_credit', 'Credit: NASA/JPL-Caltech'),
    ('donation', 'Support our journalism. Become a member today.'),
    ('donation', 'If you value our reporting, please consider making a donation.'),
    ('donation', 'Please consider supporting independent journalism with a gift today.'),
    ('donation', 'Donate now'),
    ('follow_request', 'Like us on Facebook and follow us on Twitter'),
    ('follow_request', 'Follow Jane Doe on Twitter: @janedoe'),
    ('follow_request', 'Follow @BBCWorld'),
    ('follow_request', 'Join us on Telegram for the latest updates'),
    ('subscribe_request', 'Subscribe to our YouTube channel'),
    ('subscribe_request', 'Sign up for breaking news alerts'),
    ('subscribe_request', 'Download our app'),
    ('subscribe_request', 'Get the Example News app'),
    ('subscribe_request', 'Click here to subscribe'),
    ('subscribe_request', 'Got a tip? Email us at tips@example.com'),
    ('subscribe_request', 'Already a subscriber? Log in'),
    ('bracketed_teaser', '[WATCH] Protesters clash with police in Paris'),
    ('bracketed_teaser', 'WATCH: Protesters clash with police in Paris'),
    ('bracketed_teaser', 'VIDEO: Storm hits the coast'),
    ('bracketed_teaser', '(VIDEO) Storm hits the coast'),
    ('navigation', 'Home | News | Sport | Weather | Contact'),
    ('advertisement', 'Advertisement - scroll to continue'),
    ('read_more', 'Continue reading the main story'),
    ('furniture', 'toggle caption'),
    ('furniture', 'Enlarge this image'),
    ('furniture', 'Opens in new window'),
    ('furniture', 'Loading...'),
    ('copyright', 'Copyright 2023 The Associated Press. All rights reserved. This material may '
                  'not be published, broadcast, rewritten or redistributed without permission.'),
    ('navigation', 'World • Politics • Business • Tech'),
    ('navigation', 'Home » News » Local » Transport'),
    # German, French and Spanish packs.
    ('consent', 'Wir verwenden Cookies, um Ihnen das beste Nutzererlebnis zu bieten.'),
    ('consent', 'Mit Ihrer Anmeldung erklären Sie sich mit unseren Datenschutzbestimmungen '
                'einverstanden.'),
    ('newsletter', 'Newsletter abonnieren'),
    ('related_teaser', 'Lesen Sie auch: Scholz trifft Macron in Berlin'),
    ('related_teaser', 'Mehr zum Thema'),
    ('advertisement', 'Anzeige'),
    ('follow_request', 'Folgen Sie uns auf Facebook und Instagram'),
    ('photo_credit', 'Foto: dpa/Michael Kappeler'),
    ('consent', 'Nous utilisons des cookies pour améliorer votre expérience.'),
    ('newsletter', 'Inscrivez-vous à notre newsletter'),
    ('related_teaser', 'Lire aussi : Macron en visite à Berlin'),
    ('advertisement', 'Publicité'),
    ('follow_request', 'Suivez-nous sur Twitter'),
    ('copyright', 'Tous droits réservés'),
    ('read_more', 'Lire la suite'),
    ('consent', 'Utilizamos cookies propias y de terceros para mejorar nuestros servicios.'),
    ('newsletter', 'Suscríbete a nuestro boletín'),
    ('related_teaser', 'Lee también: El Gobierno aprueba el presupuesto'),
    ('related_teaser', 'Noticias relacionadas'),
    ('advertisement', 'Publicidad'),
    ('follow_request', 'Síguenos en Facebook'),
    ('share_prompt', 'Compartir en Facebook'),
])
def test_new_rule_groups_remove_their_lines(rule, paragraph):
  assert apply_rules(f'{OPENING}\n\n{paragraph}') == (OPENING, [(rule, paragraph)])


@pytest.mark.parametrize('paragraph', [
    'In a post on X, Jane Doe (@janedoe) said the vote would happen on May 3.',
    'The photo, taken by a local resident, shows the damage to the bridge.',
    'He gave credit to his team for the win, and to the fans who travelled.',
    'Support for the measure grew among voters today, polls showed.',
    'Donating blood is easy, officials said today.',
    'The charity asked supporters to donate to its winter appeal.',
    'Follow the money, the investigators said.',
    'Follow the rules: no running near the pool.',
    'Join us on a journey through the Alps, the brochure says.',
    'Subscribers to the service will pay $10 a month from today, the company said.',
    'Sign up was slow at first, organisers said, but 5,000 people registered by Friday.',
    'Watch: that was the only word the coach said before the final.',
    'Scores: Leeds 2 | Hull 1 | Derby 0. A dramatic night in the league.',
    'He weighed three options | none of them good.',
    'Loading the ferry took three hours, the captain said.',
    'The photo shows the mayor at the opening of the new library.',
    'Click to enlarge the map, the website told readers, who found the tool useful.',
    'Advertisement spending fell in the third quarter, the company said.',
    'Die Regierung will die Regeln für Cookies überarbeiten, sagte der Minister am Dienstag.',
    'Mehr Menschen als erwartet kamen zum Thema Wohnen in die Stadthalle.',
    'Le gouvernement a lu aussi le rapport de la Cour des comptes.',
    'Lee también el informe completo, dijo el ministro en rueda de prensa.',
    'La publicidad electoral está prohibida durante la jornada de reflexión.',
])
def test_prose_that_looks_alike_is_kept(paragraph):
  text = f'{OPENING}\n\n{paragraph}\n\nAnother paragraph.\n\nA fourth.\n\nA fifth.'
  assert apply_rules(text) == (text, [])


# Leftovers seen on the training pages of the paragraph cleaner: lead-ins,
# furniture, contact and byline-date lines, sign-up consent.
@pytest.mark.parametrize('rule, paragraph', [
    ('related_teaser', 'Also read: How the new bus routes will work'),
    ('related_teaser', 'ALSO READ — Ten things to know about the budget'),
    ('read_more', 'Read our full review.'),
    ('read_more', 'Read our full Acme Phone 12 review'),
    ('read_more', 'Read our in-depth Example Laptop review.'),
    ('read_more', 'Read more news like this on example.com'),
    ('read_more', 'View all articles'),
    ('read_more', 'See all posts by Jane Doe'),
    ('read_more', 'Read more from Jane Doe'),
    ('furniture', '8 min read'),
    ('furniture', '5 Minute Read'),
    ('furniture', 'Reading time: 4 minutes'),
    ('furniture', 'Back to top'),
    ('furniture', 'Back to all articles'),
    ('furniture', 'Return to the blog'),
    ('furniture', 'Zurück zur Übersicht'),
    ('photo_credit', 'Photo Courtesy of Jane Doe'),
    ('photo_credit', 'Image courtesy of: Example Studio'),
    ('photo_credit', 'Image Source: Example Institute'),
    ('photo_credit', "Image from Jane's October 2024 review."),
    ('photo_credit', 'Photo via Pexels'),
    ('contact_line', 'Phone number: 615 682 4939'),
    ('contact_line', 'Phone: (555) 123-4567 • Fax: (555) 123-4568'),
    ('contact_line', 'Tel: +44 20 7946 0000'),
    ('contact_line', 'Phone:'),
    ('consent', 'By entering your email address you agree to our Terms of Use and Privacy Policy '
                'and consent to receive emails from us.'),
    ('consent', 'By submitting your email you agree to our Terms of Use.'),
    ('consent', 'By providing your email, you agree to receive periodic updates from us.'),
    ('byline', 'Published: 12 May 2024 at 10:30 BST'),
    ('byline', 'Last updated: Nov 4, 2025'),
    ('byline', 'Updated on Monday, June 2, 2025, 9:15 a.m. ET'),
    # Leftovers of scraped news text.
    ('photo_credit', 'The first global map of the moon. (NASA/JPL-Caltech/ASU)'),
    ('photo_credit', 'Does a duvet affect your lungs? (Photo: Getty Images) Getty'),
    ('photo_credit', 'Image caption The minister leaves Downing Street on Tuesday'),
    ('copyright', '© Jane Doe Nurses prepare flu shots at a clinic in Washington on Jan. 3, 2018.'),
    ('related_teaser', "Follow AP's full coverage of the election at https://example.com/election"),
    ('related_teaser', 'Related post: Pickled Sprouts Recipe'),
    ('related_teaser', 'Trending'),
    ('contact_line', 'Jane Doe of Example News contributed to this report.'),
    ('contact_line', '(Reporting by Jane Doe, John Smith and Ann Lee, with additional reporting by '
                     'Bo Chen in London and Kim Park in Seoul; Editing by Tom Brown and Nick Doe)'),
    ('share_prompt', 'Sharing is caring!'),
    ('donation', 'Something to consider: if you enjoyed this article, join our members today.'),
    ('furniture', 'Text size'),
    ('furniture', 'Filed under: Politics | Elections'),
    ('furniture', 'Tags: budget, transport, city council'),
])
def test_leftover_rules_remove_their_lines(rule, paragraph):
  assert apply_rules(f'{OPENING}\n\n{paragraph}') == (OPENING, [(rule, paragraph)])


@pytest.mark.parametrize('paragraph', ['March 3, 2025', '2024-11-06', 'Monday, June 2, 2025 10:30 am'])
def test_a_lone_date_goes_only_among_the_first_paragraphs(paragraph):
  assert apply_rules(f'{paragraph}\n\n{OPENING}') == (OPENING, [('byline', paragraph)])
  text = f'{OPENING}\n\nSecond.\n\nThird.\n\n{paragraph}\n\nThe changelog goes on.'
  assert apply_rules(text) == (text, [])


@pytest.mark.parametrize('paragraph', [
    'Also reading the report were two senior officials, the minister said.',
    'Read our full statement on the ruling, the company said in a tweet.',
    'Read the review of the law, and then decide for yourself, she said.',
    'Readers who want more news like this can sign up for alerts at the library.',
    'View all of the results on the county website, officials said.',
    'The 8 min read time on the app was the longest of the week.',
    'Back to school means back to the bus routes, the mayor said.',
    'Back to the drawing board',
    'Photo courtesy was never offered by the agency, its director said.',
    'Images from the probe show a cratered surface, NASA said.',
    'Image from the satellite, taken on Tuesday, shows the flooded valley.',
    'Phone calls to the company were not returned on Friday.',
    'Phone: the most used device in the survey, ahead of laptops.',
    'By entering your email address on a fake site, victims handed their passwords to the gang.',
    'By providing your details to the bank, the court said, you agree nothing.',
    'Published on March 3, 2025, the report found that rents rose by 8%.',
    'The vote took place on March 3, 2025.',
    'Sales rose by 5% between the two quarters (Q1/Q2).',
    'The talks, he said, were about trade (and not about the war).',
    'Image copyrights are a matter for the courts, the judge said.',
    'Follow the coverage closely, the editor told the new reporters.',
    'Related posts were removed by the platform on Tuesday, the company said.',
    'Trending topics on the app included the budget and the storm.',
    'Three reporters contributed to the investigation over two years.',
    'If you enjoyed the concert, the band said, wait for the next tour.',
    'Text size matters less than contrast, the designers found.',
    'Tags on the luggage showed it had been to Paris.',
])
def test_leftover_look_alike_prose_is_kept(paragraph):
  text = f'{OPENING}\n\n{paragraph}\n\nAnother paragraph.\n\nA fourth.\n\nA fifth.'
  assert apply_rules(text) == (text, [])


def test_user_patterns_that_backtrack_for_ever_are_refused_when_loaded():
  started = time.monotonic()
  with pytest.raises(RulesFileError, match='simplify it'):
    parse_rules({'rules': [{'name': 'bad', 'pattern': r'(a|aa)+$'}]})
  assert time.monotonic() - started < 2


def test_a_user_pattern_that_times_out_on_a_paragraph_keeps_it():
  # Passes the load-time probes, then meets a paragraph it backtracks on.
  rules = parse_rules({'rules': [{'name': 'slow', 'pattern': r'^(b|bb)+$',
                                  'max_chars': 5000}]})
  timeouts = []
  text = f'{OPENING}\n\n' + 'b' * 40 + 'c'
  started = time.monotonic()
  assert apply_rules(text, DEFAULT_RULES + rules, timeouts) == (text, [])
  assert timeouts == ['slow'] and time.monotonic() - started < 2

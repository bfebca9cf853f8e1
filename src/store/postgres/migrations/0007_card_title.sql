-- The card's title, as the stream shows it (events from before have none).
ALTER TABLE events ADD COLUMN card_title TEXT;
